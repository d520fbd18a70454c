"""What files we accept: anything a person attaches to a support request, except programs.

Attachments are always served back as downloads with a neutral type and a sandbox CSP
(`download_headers`), so nothing runs in our origin; refusing
executables and scripts up front keeps us from handing malware to the next person who
opens the ticket. Pure: name and declared type in, a reason out.
"""

from pathlib import PurePosixPath

BLOCKED_EXTENSIONS = frozenset(
    {
        "exe",
        "com",
        "bat",
        "cmd",
        "scr",
        "pif",
        "msi",
        "msp",
        "dll",
        "cpl",
        "jar",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "ps1",
        "psm1",
        "hta",
        "lnk",
        "reg",
        "app",
        "apk",
        "dmg",
        "pkg",
        "deb",
        "rpm",
        "sh",
        "command",
    }
)
BLOCKED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-executable",
        "application/x-sh",
        "application/x-bat",
        "application/vnd.microsoft.portable-executable",
        "application/java-archive",
        "application/x-ms-installer",
        "application/hta",
    }
)
# Windows PE ("MZ") and ELF headers: a renamed program is still a program.
MAGIC = (b"MZ", b"\x7fELF")


def download_headers(filename: str) -> dict[str, str]:
    """Response headers for serving an attachment back, on the API, the ticket page and the portal.

    Always a download with a neutral type: an uploaded HTML or SVG file must never run in our origin.
    """
    safe_name = filename.replace('"', "").encode("ascii", "replace").decode()
    return {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{safe_name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def upload_refusal(filename: str, content_type: str, head: bytes) -> str | None:
    """None if the file is acceptable, else the reason shown to the person uploading it."""
    suffixes = [s.lstrip(".").lower() for s in PurePosixPath(filename.replace("\\", "/")).suffixes]
    if any(s in BLOCKED_EXTENSIONS for s in suffixes[-2:]):
        return (
            f"{filename}: programs and scripts cannot be attached; zip logs or screenshots instead"
        )
    if content_type.split(";")[0].strip().lower() in BLOCKED_TYPES:
        return f"{filename}: programs and scripts cannot be attached"
    if head.startswith(MAGIC):
        return f"{filename}: looks like a program; programs cannot be attached"
    return None
