"""What the README tells a newcomer is checked against the code where that is cheap: its two commands
are Makefile targets (and CI's entry point calls the second), it stays short, its links lead somewhere,
and its table of apps is the list of this repository's Django apps."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MAX_LINES = 350
# The README and the pages it sends a reader to; their links are checked alike.
GUIDES = (README, *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))


def readme_commands() -> list[list[str]]:
    """The `make` commands of the first shell block under "Run it, test it"."""
    block = section(README.read_text(), "Run it, test it").split("```sh\n", 1)[1].split("\n```", 1)[0]
    return [line.split("#")[0].split() for line in block.splitlines() if line.startswith("make ")]


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def local_links(path: Path) -> list[str]:
    links = LINK.findall(path.read_text())
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def apps_in_this_repository() -> set[str]:
    found = set()
    for config in apps.get_app_configs():
        location = Path(config.path).resolve()
        if location.is_relative_to(REPO) and not location.relative_to(REPO).parts[0].startswith("."):
            found.add(config.name)
    return found


def app_table_names() -> set[str]:
    architecture = section(README.read_text(), "Architecture")
    table = architecture[architecture.index("| App | Owns |") :].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([\w.]+)` \|", table, flags=re.MULTILINE))


def test_the_readmes_two_commands_are_makefile_targets():
    commands = readme_commands()

    assert [command[:2] for command in commands] == [["make", "run"], ["make", "test"]]
    assert {"run", "test"} <= makefile_targets()


def test_ci_runs_make_test():
    lines = [line.split("#")[0].strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]

    assert "exec make test" in lines


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) <= MAX_LINES


def test_every_local_link_in_the_readme_and_its_guides_resolves():
    broken = []
    for guide in GUIDES:
        for link in local_links(guide):
            target, _, anchor = link.partition("#")
            path = (guide.parent / target).resolve() if target else guide
            if not path.exists():
                broken.append(f"{guide.relative_to(REPO)}: {link}")
            elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path.read_text()):
                broken.append(f"{guide.relative_to(REPO)}: {link} (no such heading)")

    assert local_links(README)  # the links are read, not missed
    assert broken == []


def test_the_app_table_lists_exactly_this_repositorys_django_apps():
    in_this_repository = apps_in_this_repository()

    assert "scans" in in_this_repository and "allauth.account" not in in_this_repository
    assert app_table_names() == in_this_repository
