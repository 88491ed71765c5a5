"""The dependency audit of .ci/run: pip-audit over the project's installed environment.

pip-audit needs a vulnerability database online (PyPI's JSON API or OSV). When neither answers, or every
package comes back "not found" (a registry mirror without that API), nothing was audited: this says so on
one clear line and does not fail CI, since no verdict was reached. Known vulnerabilities fail CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"


def main() -> int:
    try:
        done = subprocess.run(
            [str(VENV_BIN / "pip-audit"), "--progress-spinner", "off", "--local", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"dependency audit: NOT RUN ({type(exc).__name__}: {exc}); nothing was audited")
        return 0
    try:
        report = json.loads(done.stdout or "{}")
    except ValueError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"dependency audit: NOT RUN, the vulnerability database could not be reached ({tail[0][:200]})")
        return 0
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions") or []) or "no fix yet"
            print(f"  {d['name']} {d['version']}: {v.get('id')} (fixed in {fixes})")
    if vulnerable:
        print(
            f"dependency audit: FAILED, {len(vulnerable)} of {len(audited)} packages have known vulnerabilities"
        )
        return 1
    if not audited:
        print(
            f"dependency audit: NOT RUN, none of the {len(deps)} packages could be looked up (the vulnerability "
            "database is not reachable from this machine); nothing was audited"
        )
        return 0
    skipped = len(deps) - len(audited)
    print(
        f"dependency audit: ok, {len(audited)} packages audited, no known vulnerabilities ({skipped} skipped)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
