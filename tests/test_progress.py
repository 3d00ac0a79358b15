"""Progress of the long commands: a bar on a terminal, plain periodic lines in a pipe or a log."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from archive.settings import Settings
from cli.progress import PlainProgress
from tests.samples import CONTRACT_TEXT, text_pdf

PARTNER_ARCHIVE = str(Path(sys.executable).with_name("partner-archive"))
# A plain line: "stage: done/total (pct) · rate/s · 用时 N s (took)"
FINAL_LINE = r"{stage}: {done}/{total} \(100%\) · [\d,.]+/s · 用时 [\d.]+ s \(took\)"


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir),
        "PARTNER_ARCHIVE_ES_URL": settings.effective_es_url,
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": settings.es_index_prefix,
    }


def _in_a_pipe(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PARTNER_ARCHIVE, *args], env=_env(settings), capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _in_a_terminal(settings: Settings, *args: str) -> str:
    """Run the command on a pseudo-terminal 120 columns wide, as a person at a shell would."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen([PARTNER_ARCHIVE, *args], env={**_env(settings), "TERM": "xterm-256color"},
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the command closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=300) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def _archive_of_two(tmp_path, client, upload, make_caller, create_partner, run_worker) -> dict:  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    for n in range(2):
        pdf = text_pdf(tmp_path / f"采购合同{n}.pdf", [f"{CONTRACT_TEXT}\n第{n}份"])
        assert upload(office, pdf, partner_id=partner["id"]).status_code == 202
    assert run_worker() == 2
    return partner


def test_long_commands_draw_a_bar_with_counts_rate_and_time_left_on_a_terminal(
    tmp_path, settings, client, upload, make_caller, create_partner, run_worker
) -> None:
    _archive_of_two(tmp_path, client, upload, make_caller, create_partner, run_worker)
    for command, stage in (("reindex", "重建索引 (reindex)"), ("check", "比对索引与记录 (index against the record)")):
        shown = _in_a_terminal(settings, command)
        assert "\x1b[" in shown  # drawn, not printed line by line
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
        bar = [line for line in re.split(r"[\r\n]+", text) if stage in line][-1]  # as it was left
        assert "━" in bar
        assert re.search(r"2/2\s+100%\s+[\d,.]+/s\s+0:00:\d\d\s+剩余 \(left\)\s+0:00:00", bar), bar


def test_long_commands_print_plain_lines_when_not_on_a_terminal(
    tmp_path, settings, client, upload, make_caller, create_partner, run_worker
) -> None:
    partner = _archive_of_two(tmp_path, client, upload, make_caller, create_partner, run_worker)
    checked = _in_a_pipe(settings, "check").stderr
    assert "\x1b[" not in checked
    assert re.search(FINAL_LINE.format(stage=r"校验原件 \(originals against SHA-256\)", done=2, total=2), checked)
    assert re.search(FINAL_LINE.format(stage=r"比对索引与记录 \(index against the record\)", done=2, total=2),
                     checked)
    reindexed = _in_a_pipe(settings, "reindex").stderr
    assert re.search(FINAL_LINE.format(stage=r"重建索引 \(reindex\)", done=2, total=2), reindexed)

    backed_up = _in_a_pipe(settings, "backup", str(tmp_path / "backup")).stderr
    assert re.search(FINAL_LINE.format(stage=r"复制并校验原件 \(originals copied and verified\)", done=2, total=2),
                     backed_up)
    restored = Settings(data_dir=tmp_path / "restored", es_url=settings.es_url,
                        es_index_prefix=f"{settings.es_index_prefix}-restored")
    restoring = _in_a_pipe(restored, "restore", str(tmp_path / "backup")).stderr
    assert re.search(FINAL_LINE.format(stage=r"恢复并校验原件 \(originals restored and verified\)", done=2, total=2),
                     restoring)
    assert re.search(FINAL_LINE.format(stage=r"重建索引 \(index rebuilt\)", done=2, total=2), restoring)

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for n in range(3):
        text_pdf(incoming / f"服务合同{n}.pdf", [f"仓储服务合同第{n}份，乙方负责甲方货物的仓储与配送。"])
    imported = _in_a_pipe(settings, "import", str(incoming), "--partner", partner["id"], "--jobs", "1")
    assert re.search(FINAL_LINE.format(stage=r"导入文件 \(files imported\)", done=3, total=3), imported.stderr)
    assert "imported 3 documents" in imported.stdout


def test_plain_lines_come_every_interval_with_the_time_left() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, interval=0)
    progress.stage("重建索引 (reindex)", 4)
    progress.advance(1)
    progress.advance(3)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("重建索引 (reindex): 0/4 (0%) · ")
    assert re.fullmatch(r"重建索引 \(reindex\): 1/4 \(25%\) · [\d,.]+/s · 剩余约 \d+ s \(left\)", lines[1])
    assert re.fullmatch(FINAL_LINE.format(stage=r"重建索引 \(reindex\)", done=4, total=4), lines[-1])
