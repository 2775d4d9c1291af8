"""Regenerate the published flagship reports (reports/ in the repository).

    python -m openaudit.publish reports/          # from the bundled snapshots, offline
    python -m openaudit.publish reports/ --live   # against the live Hub (HF_TOKEN for gated cards)

Writes flagships.json, flagships.md, comparison.html, badges/<owner>__<name>.svg and README.md.
From snapshots the report is dated by its newest snapshot, so regenerating is byte-for-byte
reproducible and a test can tell when the checked-in files are stale.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from openaudit.report import Report

README = """# Flagship audits

The audits of {names} by openaudit {version}, from the snapshots bundled with openaudit
(`tests/store`), re-read offline: no network was used.

| model | commit audited | snapshot taken | score | licence |
|---|---|---|---|---|
{rows}

Files:

- `comparison.html`: the side-by-side report; one self-contained file, open it in any browser
  (every verdict cell links to its evidence, every piece of evidence to the file at the commit above).
- `flagships.md`: the same content in Markdown (PR comments, GitHub step summaries).
- `flagships.json`: the machine report (schema `openaudit/schema/report.v1.json`, version {schema}).
- `badges/*.svg`: one badge per model ("openness <score> · MOF <class>").

Regenerate (a test fails when these files are stale):

    python -m openaudit.publish reports/

Against the live Hub instead of the snapshots (the result is dated now and will differ as the
repositories change; `HF_TOKEN` lets gated cards such as Llama's be read):

    python -m openaudit.publish reports/ --live

Any saved JSON can be re-rendered without network:
`openaudit report reports/flagships.json --format html -o comparison.html --format md -o x.md`.
{notes}"""

# Why published verdicts changed, kept next to the reports they explain (issue 19).
NOTES = """
## Verdict changes (classes 1-5)

Issue 19 made verdicts follow what a reader of the card would sign (code-link roles, published
code, the model's own paper, undeclared data, lineage). On the flagships:

- **meta-llama/Llama-3.1-8B**: documentation partial → open, score 40 → 50, OSAI Index 32% → 40%.
  The card links "the Llama 3 paper" (ai.meta.com): the family's paper, presented by name. Only
  arXiv links counted before. Code stays partial, now because Meta's own llama-recipes (fine-tuning
  code) is linked, not because transformers can load the weights.
- **mistralai/Mistral-7B-v0.1**: code partial → closed, score 55 → 45. Mistral published no code for
  this model in the repository or the card: the transformers library can run the weights, but that
  is not the developer's code (the OSAI Index rates it the same way). Its paper is now recognised
  from "read our paper", not from the Hub's arxiv: tag.
- **deepseek-ai/DeepSeek-R1**: no verdict change. Code stays partial (modeling_deepseek.py in the
  repository, and DeepSeek's own inference repository is linked). The paper now comes from the
  citation block whose title names DeepSeek-R1. The base-undeclared flag quotes the sentence and
  its line.
- **allenai/OLMo-2-1124-7B**: no verdict change (MOF Class I). Every mention of a repository is now
  read and the strongest role kept, so github.com/allenai/OLMo stays training code even though it is
  first linked under "Fine-tuning". open-instruct is now fine-tuning code ("Further fine-tuning
  code"), not training code borrowed from the paragraph around another link.

Other bundled models: Falcon-7B loses MOF Class III ("Paper coming soon": the RefinedWeb paper it
cites is a reference) and its data is partial (books, conversations, code and technical sources,
20% of the mix, are in its source table but in no declared dataset). Gemma 2's five benchmark
citations are no longer its paper. phi-2, Mixtral and Llama 3.2 1B have code closed (libraries only).
phi-2 no longer has a false base (Phi-1.5 is named for its data, not as its base).
DeepSeek-R1-Distill-Qwen-7B's base is Qwen2.5-Math-7B (its table row), not a licence link's repo.
Llama-3.1-8B-Instruct no longer shows lineage-broken for a base declared under its pre-rename id.

## Verdict changes (classes 6-11)

What issue 19's classes 6 to 11 (weights, compute, access, local folders, flags, the "open source"
claim) changed in these four audits, and why. No dimension verdict, score, MOF class, OSAID
verdict or OSAI Index score of the four changed.

- **deepseek-ai/DeepSeek-R1, EU AI Act: likely-exempt → undetermined.** R1 is a mixture-of-experts
  model: 671B parameters in total, 37B active per token (the card's "#Activated Params" column, now
  read for the row naming this model). Its card gives no training-token count, and at 37B active
  parameters compute could pass 10^25 FLOP at the token counts of recent runs, so the verdict itself
  now says the systemic-risk check is open, instead of "likely exempt" with the gap in a footnote.
  For comparison, DeepSeek-V3 (bundled, not a flagship) now estimates at 6 × 37B active × 14.8T
  tokens ≈ 3.3e24 FLOP, below the line; its total parameters give 6.1e25, which was reported
  before only as an upper bound that decided nothing.
- **deepseek-ai/DeepSeek-R1: new `open-source-claim` warning.** The card says "we open-source
  DeepSeek-R1-Zero, DeepSeek-R1 and six dense models…", while neither the repository nor its card
  names obtainable training data or training code. The MIT licence and the ungated weights are not
  what contradicts it, and the flag does not say they are.
- **mistralai/Mistral-7B-v0.1, EU AI Act: likely-exempt, now decided.** No token count is
  disclosed, but even at 100T tokens (more than any disclosed pre-training run) 6 × 7.24B × tokens
  ≈ 4.3e24 FLOP stays below 10^25; before, the presumption was reported as not checked.
- **mistralai/Mistral-7B-v0.1 and allenai/OLMo-2-1124-7B: `license-file-missing` is a note, not a
  warning.** Apache-2.0 is a standard SPDX licence named in the metadata; the flag now points to
  its text. It stays a warning for custom and `other` licences, whose terms cannot be looked up.
- **meta-llama/Llama-3.1-8B: unchanged.** The bundled snapshot holds its card and licence files.
  Read live without a token, its licence, code, data and documentation would now be `unknown`
  (missing access is not evidence) and its score a lower bound, never higher than with a token.

## Verdict changes (issue 25: links followed past the Hub)

The bundled store now holds what the flagships' cards link to outside the Hub, as `openaudit
snapshot` records it: each GitHub repository pinned to the last commit before the model's snapshot
(metadata, file tree, README and licence texts) and each arXiv paper's metadata (`github/`,
`arxiv/` in `tests/store`). No dimension verdict, score, MOF class or OSAID verdict changed; the
evidence lists gained `code.repo`, `code.docs` and `docs.paper-meta` entries pointing at the files
at those commits.

- **OSAI Index "code documentation": unknown → partial** for Llama-3.1-8B (llama-models,
  llama-recipes, llama3), DeepSeek-R1 (DeepSeek-V3's inference demo) and OLMo-2-1124-7B (OLMo,
  OLMo-Eval, open-instruct): the developer's own repositories were read and document their code in
  a README. Whether that documentation is comprehensive (the index's "open") is not judged, so none
  is open. A third party's README (Qwen2.5, linked from R1's card) does not count. Mistral-7B-v0.1
  links no code: closed, as before. OSAI Index scores: Llama 40 → 40.9, DeepSeek-R1 37.5 → 38.9,
  OLMo 2 90 → 86.4 (an `unknown` left the average; a `partial` entered it).
- **meta-llama/Llama-3.1-8B, MOF evaluation code: closed → partial.** llama-recipes, which the card
  links as fine-tuning code, holds Meta's scripts for reproducing its reported evaluations
  (`tools/benchmarks/llm_eval_harness/meta_eval/`); partial because the release licence is not
  open. Its training files (configs, a tokenizer recipe) do not make it training code: a repository
  the card calls fine-tuning code keeps that role, and code stays partial.
- **deepseek-ai/DeepSeek-R1: no change, now shown.** github.com/deepseek-ai/DeepSeek-R1 holds no
  code at 95aaec702f4b (README, paper PDF, licence, a figure, a stale-issue workflow); the card
  never calls it code, so nothing changes, but the evidence says so.
- **The training code's licence is read where the code is.** When the card's training-code link is
  the developer's own repository and its licence is identified (LICENSE text, else GitHub's
  detection), it is the code's licence (`license.code`, from `linked-repo`): OLMo's MOF training code
  is now "included under the licence read in the training code's own repository" (Apache-2.0), not
  under the weights' licence by default. No verdict of the four changes by it.
- **OSAI Index "paper" stays unknown, for a reason now stated.** arXiv's records name each paper as
  the model's own (the OLMo 2, DeepSeek-R1 and Mistral 7B titles), which the preprint parameter
  already used. "Paper" asks for peer review: it becomes partial when arXiv records a journal
  reference for the model's own paper; none of the three had one at the snapshot, and a preprint
  without one is not evidence of no review, so it stays unknown rather than closed.

Other bundled models: EleutherAI/pythia-1b's MOF data-preprocessing code is now found (GPT-NeoX,
EleutherAI's own repository linked from the card, holds prepare_data.py at 303d7be582ae): Class I
now misses only its datasets (The Pile's Hub id does not resolve).

## Verdict changes (replays and same-publisher bases)

- **A store's gaps are no longer the Hub's.** A base or dataset that a replayed model links to and
  that the snapshot store holds no entry for was reported "not found" (and a declared one raised
  `lineage-broken`): the store's gap read as the Hub's 404. It is now "not checked (not recorded in
  the snapshot store)". `openaudit snapshot` records the Hub's 404 for a link (`not-found.json`), so
  a replay of a recorded store says "not found" exactly when the live run did. The bundled store
  records the two real 404s it relies on: `the_pile` (pythia's dataset, hosting withdrawn) and the
  `missing-base` fixture's base.
- **deepseek-ai/DeepSeek-R1: lineage "DeepSeek-V3-Base (not found)" becomes "(not checked)"; OSAI
  Index 38.9 → 31.8.** V3-Base exists on the Hub; the bundled store does not hold it (model-facts.md
  has no record of its files). Its OSAI "base model weights/data" stay `unknown`, now counted as the
  lower bound that missing access gives everywhere else (issue 19, class 8), so the score cannot rise
  for want of a record. The licence stays **open (MIT)**: see the next point.
- **A base released by the same publisher does not bind the licence its derivative declares.**
  DeepSeek licenses R1 under MIT although R1 is trained from DeepSeek's own V3-Base: the rights
  holder chooses the derivative's licence. `license-inherited` (and, when such a base could not be
  read, `license.base-unchecked`) now apply to third parties' bases only; a third party's base
  further up the lineage still binds (a DeepSeek distill of Llama inherits Llama's licence).
"""


def build(live: bool = False, now: datetime | None = None) -> Report:
    from openaudit import api
    from openaudit.demo import FLAGSHIPS, bundled_store

    if live:
        return api.audit_models(list(FLAGSHIPS), now=now or datetime.now(UTC))
    store = bundled_store()
    report = api.audit_models(list(FLAGSHIPS), snapshots=store, now=now or datetime(1970, 1, 1, tzinfo=UTC))
    if now is None:
        taken = [s.taken_at for s in report.subjects if s.taken_at is not None]
        report.generated_at = max(taken) if taken else report.generated_at
    return report


def files(report: Report) -> dict[str, str]:
    from openaudit.render import badge, html, markdown
    from openaudit.render.ci import is_local

    out = {"flagships.json": report.to_json(), "flagships.md": markdown.render(report),
           "comparison.html": html.render_comparison(report)}
    for name, svg in badge.badge_files(report).items():
        out[f"badges/{name}"] = svg
    rows = []
    for s in report.subjects:
        lic = s.license.name or s.license.key if s.license else None
        rev: str = s.status
        if s.revision:
            rev = f"`{s.revision[:12]}`"
            if not is_local(s):  # a folder's commit (a cache snapshot's) is no page of local/<name>
                rev = f"[{rev}](https://huggingface.co/{s.repo_id}/tree/{s.revision})"
        rows.append(f"| {s.repo_id} | {rev} | {s.taken_at.date() if s.taken_at else '?'} | "
                    f"{'—' if s.score is None else f'{s.score:.0f}'} | {lic or '?'} |")
    out["README.md"] = README.format(names=", ".join(s.repo_id for s in report.subjects), version=report.tool.version,
                                     rows="\n".join(rows), schema=report.schema_version, notes=NOTES)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m openaudit.publish", description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path)
    ap.add_argument("--live", action="store_true", help="audit the live Hub instead of the bundled snapshots")
    args = ap.parse_args(argv)
    from openaudit.render.site import write_tree

    write_tree(args.directory, files(build(live=args.live)))
    print(f"wrote {args.directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
