#!/usr/bin/env python3
"""Build the hostile-input store (DESIGN §9): repos written by an attacker, one per case.

    python tests/hostile/build_hostile.py                 # the small, portable cases -> tests/hostile/store
    python tests/hostile/build_hostile.py --out DIR --huge --links   # everything (what the tests use)

Small cases are checked in (tests/hostile/store) so they can be served by tests/fakehub.py or read
by hand. The huge ones (a 50 MB README, 100,000 siblings, a 1,000-deep base_model chain) and the
symlink escapes (absolute links, not portable) are only generated into a temporary folder at test
time. `CASES` describes every case for the test table; `build()` returns the case names written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OWNER = "hostile"
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "store"
CHAIN_DEPTH = 1000
N_SIBLINGS = 100_000
HUGE_README_BYTES = 50 * 1024 * 1024
# Markers: if one of these ever shows up in a report, something outside the store was read.
OUTSIDE_MARKER = "OUTSIDE-THE-STORE-7f3a"
XSS = {
    "script": "<script>alert('xss')</script>",
    "img": '<img src=x onerror="alert(1)">',
    "js_link": "[click me](javascript:alert(document.cookie))",
    "svg": "<svg/onload=alert(1)>",
    "attr": '"><iframe src="javascript:alert(2)"></iframe>',
}
RLO = "\u202e"


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    huge: bool = False
    links: bool = False


CASES: list[Case] = [
    Case("billion-laughs", "YAML front matter with 9 levels of anchor expansion (billion laughs)"),
    Case("deep-nesting-flow", "YAML front matter nested 100,000 levels deep ([[[[…]]]])"),
    Case("deep-nesting-block", "YAML front matter mapping nested 600 levels deep"),
    Case("deep-json-carddata", "the Hub JSON's cardData nested 20,000 levels deep"),
    Case("non-mapping-list", "YAML front matter that is a list"),
    Case("non-mapping-scalar", "YAML front matter that is a bare string"),
    Case("yaml-python-tag", "YAML front matter with !!python/object/apply:os.system"),
    Case("unclosed-front-matter", "'---' front matter never closed, 10,000 lines"),
    Case("binary-readme-license", "README.md and LICENSE of random binary bytes"),
    Case("nul-bytes", "NUL bytes inside README.md (past the first 8 KB) and at the start of LICENSE"),
    Case("invalid-utf8", "README.md mostly UTF-8 with stray bytes; LICENSE mostly invalid UTF-8"),
    Case("rtl-override", "right-to-left override characters in file names, metadata and card text"),
    Case("xss-prose", "<script>, onerror= and javascript: links in card prose"),
    Case("xss-metadata", "<script>, onerror= and javascript: URLs in every metadata field"),
    Case("file-url-link", "Markdown link and license_link to file:///etc/passwd"),
    Case("license-10k-list", "license: a list of 10,000 items"),
    Case("license-weird-types", "license: a mapping, a number, nested lists, a 300 kB string"),
    Case("sibling-traversal", "siblings named ../../etc/passwd, /etc/passwd, ..\\LICENSE, LICENSE/../../x"),
    Case("base-cycle-a", "base_model cycle a -> b -> a"),
    Case("base-self", "base_model naming itself"),
    Case("ansi-escapes", "terminal escape sequences and rich markup in card text and metadata"),
    Case("huge-readme", "a 50 MB README.md (listed with a lying size of 100 bytes)", huge=True),
    Case("siblings-100k", "100,000 siblings in the Hub JSON", huge=True),
    Case("chain-0000", f"a base_model chain of depth {CHAIN_DEPTH}", huge=True),
    Case("store-symlink-escape", "a repo folder in the store that is a symlink out of the store", links=True),
    Case("file-symlink-escape", "files/LICENSE a symlink to a file outside the store; files/README.md to /etc",
         links=True),
]


def _sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def write_repo(store: Path, name: str, files: dict[str, bytes | str], info: dict[str, Any] | None = None,
               extra_siblings: list[dict[str, Any]] | None = None, owner: str = OWNER) -> Path:
    repo_id = f"{owner}/{name}"
    folder = store / "models" / owner / name
    (folder / "files").mkdir(parents=True, exist_ok=True)
    raw = {p: (b.encode("utf-8") if isinstance(b, str) else b) for p, b in files.items()}
    for path, data in raw.items():
        target = folder / "files" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    siblings = [{"rfilename": p, "size": len(b)} for p, b in raw.items()]
    siblings += extra_siblings or []
    siblings.append({"rfilename": "model.safetensors", "size": 1234})
    doc: dict[str, Any] = {"_id": _sha(repo_id)[:24], "id": repo_id, "author": owner, "sha": _sha(repo_id),
                           "private": False, "gated": False, "disabled": False, "tags": [], "siblings": siblings,
                           "lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z"}
    doc.update(info or {})
    (folder / "info.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _card(front: str, body: str) -> str:
    return f"---\n{front.rstrip()}\n---\n\n{body}"


PLAIN_BODY = "# Model\n\nA model.\n\n## Training data\n\nWe trained it on data.\n"


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for ch in "bcdefghi":
        lines.append(f"{ch}: &{ch} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = ch
    lines.append("license: apache-2.0")
    return _card("\n".join(lines), PLAIN_BODY)


def build_small(store: Path) -> list[str]:
    w = write_repo
    w(store, "billion-laughs", {"README.md": _billion_laughs()})
    w(store, "deep-nesting-flow", {"README.md": _card("x: " + "[" * 100_000 + "]" * 100_000, PLAIN_BODY)})
    block = "\n".join(" " * i + f"k{i}:" for i in range(600)) + " end"
    w(store, "deep-nesting-block", {"README.md": _card(block, PLAIN_BODY)})
    # json.dumps would recurse; write the nested JSON by hand.
    deep_text = '{"x":' * 20_000 + '"leaf"' + "}" * 20_000
    folder = w(store, "deep-json-carddata", {"README.md": _card("license: mit", PLAIN_BODY)})
    info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    info["cardData"] = "__DEEP__"
    text = json.dumps(info, indent=1).replace('"__DEEP__"', deep_text)
    (folder / "info.json").write_text(text, encoding="utf-8")
    w(store, "non-mapping-list", {"README.md": _card("- license\n- apache-2.0", PLAIN_BODY)})
    w(store, "non-mapping-scalar", {"README.md": _card("just a string", PLAIN_BODY)})
    w(store, "yaml-python-tag", {"README.md": _card(
        "license: !!python/object/apply:os.system ['touch /tmp/openaudit-pwned']", PLAIN_BODY)})
    w(store, "unclosed-front-matter", {"README.md": "---\nlicense: mit\n" + "key: value\n" * 10_000})
    rnd = bytes((i * 7919 + 13) % 256 for i in range(64 * 1024))
    w(store, "binary-readme-license", {"README.md": b"\x89PNG\r\n\x1a\n" + rnd, "LICENSE": b"\x7fELF\x02\x01" + rnd})
    w(store, "nul-bytes", {"README.md": _card("license: mit", PLAIN_BODY + "x" * 9000 + "\x00\x00 after nul\n"),
                           "LICENSE": b"\x00MIT License\n"})
    good = _card("license: mit", PLAIN_BODY).encode() + b"\n\xff\xfe bad bytes \xc3\x28 here\n"
    w(store, "invalid-utf8", {"README.md": good, "LICENSE": bytes(range(128, 256)) * 64})
    rlo_card = _card(
        f"license: apache-2.0\nmodel_name: \"evil{RLO}gnp.exe\"\ntags:\n- \"{RLO}txt.exe\"",
        f"# Model {RLO}cod.exe\n\nThis {RLO}reversed text fine-tuned from hostile/{RLO}base.\n")
    w(store, "rtl-override", {"README.md": rlo_card, f"LICENSE{RLO}txt.exe": "MIT License"},
      extra_siblings=[{"rfilename": f"model{RLO}srotnesfas.exe", "size": 10}])
    prose = "\n\n".join(XSS.values())
    w(store, "xss-prose", {"README.md": _card(
        "license: apache-2.0",
        f"# Model {XSS['script']}\n\n{prose}\n\n## Training data {XSS['img']}\n\n"
        f"Trained on [data](javascript:alert(1)) and <a href=\"javascript:alert(3)\">this</a>.\n\n"
        f"## Code\n\nSee [repo](javascript:void(0)) and https://github.com/x/y<script>alert(4)</script>\n"
        f"\n## Evaluation\n\n| a | b |\n|---|---|\n| {XSS['img']} | <script>x()</script> |\n")})
    meta = "\n".join([
        f"license: other\nlicense_name: {json.dumps(XSS['script'])}\nlicense_link: \"javascript:alert(1)\"",
        f"model_name: {json.dumps(XSS['img'])}",
        f"datasets:\n- {json.dumps(XSS['script'])}\n- \"javascript:alert(1)\"\n- \"x/y<img src=x onerror=alert(1)>\"",
        f"base_model: {json.dumps(XSS['attr'])}",
        f"tags:\n- {json.dumps(XSS['svg'])}",
        f"library_name: {json.dumps(XSS['script'])}",
        f"pipeline_tag: {json.dumps(XSS['img'])}",
        "model-index:\n- name: \"<script>alert(5)</script>\"\n  results:\n"
        "  - task: {type: \"<b onmouseover=alert(6)>\"}",
    ])
    w(store, "xss-metadata", {"README.md": _card(meta, PLAIN_BODY)},
      info={"cardData": {"license": "other", "license_name": XSS["script"], "license_link": "javascript:alert(1)"},
            "tags": [XSS["svg"], "license:<script>alert(7)</script>", "dataset:javascript:alert(8)"],
            "library_name": XSS["script"], "pipeline_tag": XSS["img"]})
    w(store, "file-url-link", {"README.md": _card(
        "license: other\nlicense_link: file:///etc/passwd",
        "# Model\n\nRead the [licence](file:///etc/passwd) and [data](file:///etc/shadow).\n"
        "Based on ![img](file:///etc/hostname).\n\n## Licence\n\nSee file:///etc/passwd\n")})
    lic_list = "\n".join(f"- lic-{i}" for i in range(10_000))
    w(store, "license-10k-list", {"README.md": "---\nlicense:\n" + lic_list + "\n---\n\n" + PLAIN_BODY},
      info={"cardData": {"license": [f"lic-{i}" for i in range(10_000)]},
            "tags": [f"license:lic-{i}" for i in range(10_000)]})
    w(store, "license-weird-types", {"README.md": _card(
        "license: {a: b, c: [1, 2, {d: e}]}\nlicense_name: 12345\nlicense_link: [x, y]\n"
        "datasets: {x: y}\nbase_model: 42\ntags: 7", PLAIN_BODY)},
      info={"cardData": {"license": [[["mit"]], None, 3.5, {"x": 1}, "a" * 300_000]}})
    w(store, "sibling-traversal", {"README.md": _card("license: mit", PLAIN_BODY)},
      extra_siblings=[{"rfilename": p, "size": 10} for p in (
          "../../etc/passwd", "/etc/passwd", "..\\..\\LICENSE", "LICENSE/../../../etc/passwd", "./LICENSE",
          "LICENSE\x00.txt", "%2e%2e/LICENSE", "license/../../README.md")])
    w(store, "base-cycle-a", {"README.md": _card(f"license: mit\nbase_model: {OWNER}/base-cycle-b", PLAIN_BODY)})
    w(store, "base-cycle-b", {"README.md": _card(f"license: mit\nbase_model: {OWNER}/base-cycle-a", PLAIN_BODY)})
    w(store, "base-self", {"README.md": _card(f"license: mit\nbase_model: {OWNER}/base-self", PLAIN_BODY)})
    ansi = "\x1b[31mRED\x1b[0m \x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\ [/bold] [link=file:///x]y[/link] \x07"
    w(store, "ansi-escapes", {"README.md": _card(
        f"license: other\nlicense_name: {json.dumps(ansi)}\nmodel_name: \"[/]\"", f"# M {ansi}\n\n{ansi}\n")})
    return [c.name for c in CASES if not c.huge and not c.links]


def build_huge(store: Path) -> list[str]:
    folder = write_repo(store, "huge-readme", {"README.md": "x"})
    big = folder / "files" / "README.md"
    with big.open("wb") as fh:
        chunk = (b"# Heading\n\nlorem ipsum dolor sit amet " * 40 + b"\n")
        written = 0
        fh.write(b"---\nlicense: mit\n---\n")
        while written < HUGE_README_BYTES:
            fh.write(chunk)
            written += len(chunk)
    info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    info["siblings"][0]["size"] = 100  # the listing lies: the cap must hold on the real size
    (folder / "info.json").write_text(json.dumps(info), encoding="utf-8")
    sibs = [{"rfilename": f"shards/part-{i:06d}.safetensors", "size": 1000 + i} for i in range(N_SIBLINGS)]
    write_repo(store, "siblings-100k", {"README.md": _card("license: mit", PLAIN_BODY)}, extra_siblings=sibs)
    for i in range(CHAIN_DEPTH):
        nxt = f"\nbase_model: {OWNER}/chain-{i + 1:04d}" if i + 1 < CHAIN_DEPTH else ""
        write_repo(store, f"chain-{i:04d}", {"README.md": _card(f"license: mit{nxt}", PLAIN_BODY)})
    return [c.name for c in CASES if c.huge]


def build_links(store: Path, outside: Path) -> list[str]:
    """Symlink escapes. `outside` is a folder next to (not in) the store, holding marker files."""
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(f"{OUTSIDE_MARKER} secret\n", encoding="utf-8")
    # A whole repo outside the store, linked in.
    ext = write_repo(outside, "store-symlink-escape",
                     {"README.md": _card("license: mit", f"# {OUTSIDE_MARKER}\n\n{OUTSIDE_MARKER}\n"),
                      "LICENSE": OUTSIDE_MARKER})
    link = store / "models" / OWNER / "store-symlink-escape"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink() if link.is_symlink() else shutil.rmtree(link)
    link.symlink_to(ext, target_is_directory=True)
    # A repo whose files are symlinks out of it.
    folder = write_repo(store, "file-symlink-escape", {"README.md": "x", "LICENSE": "x", "NOTICE": "x"})
    for name, target in (("LICENSE", outside / "secret.txt"), ("README.md", Path("/etc/passwd")),
                         ("NOTICE", Path("../../../../../../../../../../etc/hostname"))):
        p = folder / "files" / name
        p.unlink()
        p.symlink_to(target)
    return [c.name for c in CASES if c.links]


def build_localdir(root: Path, outside: Path, huge: bool = True) -> Path:
    """A local model folder with symlinks to /etc and to a file outside it (and a 50 MB README)."""
    model = root / "evil-model"
    model.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(f"{OUTSIDE_MARKER} secret\n", encoding="utf-8")
    (model / "config.json").unlink(missing_ok=True)
    links = {"etc": Path("/etc"), "LICENSE": Path("/etc/passwd"), "NOTICE": outside / "secret.txt",
             "config.json": outside / "secret.txt", "USE_POLICY.md": Path("/etc/hostname")}
    for name, target in links.items():
        p = model / name
        if p.is_symlink() or p.exists():
            p.unlink()
        p.symlink_to(target)
    (model / "sub").mkdir(exist_ok=True)
    (model / "sub" / "LICENSE").unlink(missing_ok=True)
    (model / "sub" / "LICENSE").symlink_to(Path("../../") / outside.name / "secret.txt")
    readme = model / "README.md"
    if huge:
        with readme.open("wb") as fh:
            fh.write(b"---\nlicense: mit\n---\n")
            fh.write((b"lorem ipsum " * 100 + b"\n") * (HUGE_README_BYTES // 1201 + 1))
    else:
        readme.write_text(_card("license: mit", PLAIN_BODY), encoding="utf-8")
    return model


def build(store: Path, *, huge: bool = False, links: bool = False, outside: Path | None = None) -> list[str]:
    names = build_small(store)
    if huge:
        names += build_huge(store)
    if links:
        names += build_links(store, outside or store.parent / "outside")
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--huge", action="store_true", help="also the 50 MB README, 100k siblings, 1,000-deep chain")
    p.add_argument("--links", action="store_true", help="also the symlink escapes (absolute links)")
    a = p.parse_args(argv)
    if a.out.exists() and a.out.resolve() == DEFAULT_OUT.resolve():
        shutil.rmtree(a.out)
    names = build(a.out, huge=a.huge, links=a.links)
    print(f"wrote {len(names)} cases to {a.out}")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    raise SystemExit(main())
