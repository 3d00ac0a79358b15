"""A partner's life in the archive: opening it (建档审批), its status and the suspension
proposals, what its file must hold (齐全), its relationship records, and the inbox of what
waits for a department head's decision."""
