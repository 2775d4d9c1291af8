"""Records of the hosts outside the Hub that the bundled cards link to (issue 25), read by build_store.py.

Each record is what `openaudit snapshot` writes under STORE/github/, arxiv/, zenodo/ (the format of
openaudit.sources.external.write_external): the host's metadata, the file tree at one commit, and
the top-level README and LICENSE texts read at that commit.

Where the facts come from:

- GitHub repositories of the flagships and of Pythia: the commit is the last one on the default
  branch before the model's snapshot in this store (what a recorder run that day would have read),
  taken from the publishers' GitHub history; the file trees (path and size of every blob) are those
  of that commit (texts/external/trees/*.tsv). The READMEs are written for these fixtures in our own
  words (texts/external/readmes/), following the sections of the real README; licence texts are the
  standard MIT / Apache-2.0 texts or the abridged paraphrases in texts/licenses/. The repository
  metadata (`license` is GitHub's own detection) follows /work/shared/reference/model-facts.md and
  the repositories; `description` is ours. Marked [R] where a value is not confirmed.
- arXiv papers: title, first authors (the OAI record lists all of them; the lists here are abridged
  to the first names) and submission date; the abstract is a summary in our own words that names
  the model as the real abstract does. [R] arXiv licences are not confirmed and are left unstated.

FIXTURES (in their own section below) are the synthetic `openaudit-fixtures` cases of issue 25.
"""

from __future__ import annotations

from typing import Any

APACHE = "licenses/apache-2.0.txt"


def mit(owner: str, strip: bool = False) -> tuple[str, dict[str, str], bool]:
    return ("licenses/mit.txt", {"{COPYRIGHT}": owner}, strip)


APACHE_LIC = {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"}
MIT_LIC = {"key": "mit", "name": "MIT License", "spdx_id": "MIT"}
# GitHub's answer for a licence file it cannot match to one licence (a custom licence, or two files).
OTHER_LIC = {"key": "other", "name": "Other", "spdx_id": "NOASSERTION"}


def github(full: str, commit: str, taken: str, *, created: str, pushed: str, description: str,
           license: dict[str, str] | None, files: dict[str, Any], archived: bool = False,
           tree: str | None = None) -> dict[str, Any]:
    """A GitHub repository read at `commit`: `tree` is texts/external/trees/<owner>__<repo>.tsv."""
    return {"host": "github", "id": full, "commit": commit, "taken": taken,
            "tree": tree or f"external/trees/{full.replace('/', '__')}.tsv",
            "repo": {"full_name": full, "html_url": f"https://github.com/{full}", "description": description,
                     "default_branch": "main", "archived": archived, "disabled": False, "fork": False,
                     "pushed_at": pushed, "created_at": created, "visibility": "public", "license": license},
            "files": files}


def readme(full: str) -> str:
    return f"external/readmes/{full.replace('/', '__')}.md"


def arxiv(pid: str, taken: str, *, title: str, authors: list[str], abstract: str, created: str,
          license: str | None = None, journal_ref: str | None = None, doi: str | None = None) -> dict[str, Any]:
    return {"host": "arxiv", "id": pid, "taken": taken,
            "info": {"id": pid, "title": title, "abstract": abstract, "authors": authors, "license": license,
                     "created": created, "journal_ref": journal_ref, "doi": doi}}


# Snapshot instants of the models whose links these are (their `modified` in repos.py).
OLMO2 = "2024-12-20T19:27:07+00:00"
R1 = "2025-03-27T04:01:59+00:00"
LLAMA31 = "2024-10-16T22:00:37+00:00"
MISTRAL = "2024-07-24T14:02:42+00:00"
PYTHIA = "2023-07-09T16:05:58+00:00"

RECORDS: list[dict[str, Any]] = [
    # ---- allenai/OLMo-2-1124-7B: training, evaluation and post-training code, and its paper.
    github("allenai/OLMo", "d9d3940c80fc2f8089690fb2e456b12068966409", OLMO2,
           created="2023-02-21T01:06:21Z", pushed="2024-12-19T16:49:48Z",
           description="Modeling, training, evaluation and inference code for the OLMo language models.",
           license=APACHE_LIC, files={"README.md": readme("allenai/OLMo"), "LICENSE": APACHE}),
    github("allenai/OLMo-Eval", "2254e11606ad253375f35f955e16ff1fb8b46f4e", OLMO2,
           created="2023-10-12T23:50:52Z", pushed="2024-12-10T16:12:43Z",
           description="Evaluation suite for language models.",
           license=APACHE_LIC, files={"README.md": readme("allenai/OLMo-Eval"), "LICENSE": APACHE}),
    github("allenai/open-instruct", "c0dcdaf210a25aa4998f12a814f9daf2cbc3855f", OLMO2,
           created="2023-06-09T16:25:00Z", pushed="2024-12-19T03:20:05Z",
           description="Instruction tuning and post-training of open language models.",
           license=APACHE_LIC, files={"README.md": readme("allenai/open-instruct"), "LICENSE": APACHE}),
    arxiv("2501.00656", OLMO2, title="2 OLMo 2 Furious",
          authors=["Team OLMo", "Pete Walsh", "Luca Soldaini", "Dirk Groeneveld", "Kyle Lo", "Shane Arora",
                   "Akshita Bhagia", "Yuling Gu", "Shengyi Huang", "Matt Jordan", "Nathan Lambert"],
          abstract="The paper presents OLMo 2, the second generation of Ai2's fully open language models: dense "
                   "7B and 13B models with a more stable architecture and training recipe, a late-stage "
                   "curriculum on a new data mix (Dolmino Mix 1124), and instruction-tuned OLMo 2-Instruct "
                   "variants. Weights, training data, code, recipes, logs and intermediate checkpoints are "
                   "all released.", created="2024-12-31"),
    # ---- deepseek-ai/DeepSeek-R1: its GitHub repository holds no code (model-facts DR1); the
    # inference demo is in DeepSeek-V3's; Qwen2.5 is the base of some distilled models.
    github("deepseek-ai/DeepSeek-R1", "95aaec702f4bf183e18da90545e26c094cedcf6d", R1,
           created="2025-01-20T02:27:33Z", pushed="2025-02-24T03:49:25Z", description="",
           license=MIT_LIC, files={"README.md": readme("deepseek-ai/DeepSeek-R1"),
                                   "LICENSE": mit("2023 DeepSeek", strip=True)}),
    github("deepseek-ai/DeepSeek-V3", "a878eada08ea6913f5a2ae80a43afeffdef082ef", R1,
           created="2024-12-26T09:52:41Z", pushed="2025-03-16T15:42:21Z", description="",
           # [R] Two licence files (LICENSE-CODE MIT, LICENSE-MODEL DeepSeek): GitHub names no single licence.
           license=OTHER_LIC, files={"README.md": readme("deepseek-ai/DeepSeek-V3"),
                                     "LICENSE-CODE": mit("2023 DeepSeek", strip=True),
                                     "LICENSE-MODEL": "licenses/deepseek-license.txt"}),
    github("QwenLM/Qwen2.5", "905ca2080093d9b2c0539c388c43cc008c3add21", R1,
           created="2024-02-05T05:49:07Z", pushed="2025-03-14T08:32:54Z",
           description="Documentation and usage examples of the Qwen2.5 language models.",
           license=None, files={"README.md": readme("QwenLM/Qwen2.5")}),
    arxiv("2501.12948", R1,
          title="DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
          authors=["DeepSeek-AI", "Daya Guo", "Dejian Yang", "Haowei Zhang", "Junxiao Song", "Ruoyu Zhang",
                   "Runxin Xu", "Qihao Zhu", "Shirong Ma", "Peiyi Wang", "Xiao Bi"],
          abstract="The paper introduces the reasoning models DeepSeek-R1-Zero, trained with large-scale "
                   "reinforcement learning and no supervised fine-tuning first, and DeepSeek-R1, which adds "
                   "multi-stage training and cold-start data before reinforcement learning. DeepSeek-R1 and six "
                   "dense models distilled from it (based on Qwen and Llama) are released.",
          created="2025-01-22"),
    # ---- meta-llama/Llama-3.1-8B: reference and recipe code; the LICENSE of llama-models is one link.
    github("meta-llama/llama-models", "5789f63c29c89cf906e4fdf588f5bd5990c77751", LLAMA31,
           created="2024-07-08T12:36:18Z", pushed="2024-10-14T18:12:59Z",
           description="Utilities intended for use with Llama models.",
           # [R] The LICENSE file is a single link to the README: GitHub matches no licence.
           license=OTHER_LIC, files={"README.md": readme("meta-llama/llama-models"),
                                     "LICENSE": "external/llama-models-LICENSE.txt"}),
    github("meta-llama/llama3", "11817d47e1ba7a4959b025eb1ca308572e0e3963", LLAMA31,
           created="2024-03-26T13:53:46Z", pushed="2024-07-31T17:18:29Z",
           description="The official Meta Llama 3 GitHub site (deprecated).",
           license=OTHER_LIC, files={"README.md": readme("meta-llama/llama3"), "LICENSE": "licenses/llama3.txt"}),
    github("meta-llama/llama-recipes", "a8e9f4ecede3fae8130cf31bed734cbaad716db2", LLAMA31,
           created="2023-07-17T08:19:00Z", pushed="2024-10-16T15:13:26Z",
           description="Scripts for fine-tuning Meta Llama models with composable FSDP and PEFT methods, and "
                       "examples of their use.",
           license=None, files={"README.md": readme("meta-llama/llama-recipes")}),
    # ---- mistralai/Mistral-7B-v0.1: its paper.
    arxiv("2310.06825", MISTRAL, title="Mistral 7B",
          authors=["Albert Q. Jiang", "Alexandre Sablayrolles", "Arthur Mensch", "Chris Bamford",
                   "Devendra Singh Chaplot", "Diego de las Casas", "Florian Bressand", "Gianna Lengyel",
                   "Guillaume Lample", "Lucile Saulnier"],
          abstract="The paper describes Mistral 7B, a 7-billion-parameter language model using grouped-query "
                   "and sliding-window attention, which outperforms larger Llama 2 models on the benchmarks "
                   "tested, and an instruction-tuned variant. The weights are released under Apache 2.0.",
          created="2023-10-10"),
    # ---- EleutherAI/pythia-1b: GPT-NeoX (the training library), the Pythia repository (configs,
    # data tools, evaluation results), the evaluation harness; its paper and the Pile's.
    github("EleutherAI/gpt-neox", "303d7be582ae1c969347c25c54f568cc122445fc", PYTHIA,
           created="2020-12-22T14:37:56Z", pushed="2023-07-08T15:34:42Z",
           description="Model-parallel autoregressive transformers on GPUs, based on Megatron and DeepSpeed.",
           license=APACHE_LIC, files={"README.md": readme("EleutherAI/gpt-neox"), "LICENSE": APACHE}),
    github("EleutherAI/pythia", "fba86e2635a5b68c13e0307982e250574d39a328", PYTHIA,
           created="2021-12-25T23:58:44Z", pushed="2023-06-16T14:01:19Z",
           description="The hub for EleutherAI's work on interpretability and learning dynamics.",
           license=APACHE_LIC, files={"README.md": readme("EleutherAI/pythia"), "LICENSE": APACHE}),
    github("EleutherAI/lm-evaluation-harness", "884ba785a4080d5f376e6be5159eef53eeaf4fab", PYTHIA,
           created="2020-08-28T00:08:04Z", pushed="2023-07-07T13:30:39Z",
           description="A framework for few-shot evaluation of language models.",
           license=MIT_LIC, files={"README.md": readme("EleutherAI/lm-evaluation-harness"),
                                   "LICENSE.md": mit("2020 EleutherAI")}),
    arxiv("2304.01373", PYTHIA,
          title="Pythia: A Suite for Analyzing Large Language Models Across Training and Scaling",
          authors=["Stella Biderman", "Hailey Schoelkopf", "Quentin Anthony", "Herbie Bradley", "Kyle O'Brien",
                   "Eric Hallahan", "Mohammad Aflah Khan", "Shivanshu Purohit", "USVSN Sai Prashanth",
                   "Edward Raff"],
          abstract="The paper introduces Pythia, sixteen language models from 70M to 12B parameters trained on "
                   "public data in exactly the same order, with 154 checkpoints each and tools to reconstruct "
                   "their training data loaders, to study how knowledge develops during training and scaling.",
          created="2023-04-03"),
    arxiv("2101.00027", PYTHIA, title="The Pile: An 800GB Dataset of Diverse Text for Language Modeling",
          authors=["Leo Gao", "Stella Biderman", "Sid Black", "Laurence Golding", "Travis Hoppe",
                   "Charles Foster", "Jason Phang", "Horace He", "Anish Thite", "Noa Nabeshima",
                   "Shawn Presser", "Connor Leahy"],
          abstract="The paper presents the Pile, an 825 GiB English text corpus assembled from 22 diverse "
                   "sources for training large language models, and evaluates models trained on it.",
          created="2020-12-31"),
]


# ---------------------------------------------------------------------------------------------------------------
# Synthetic fixtures (issue 25): the `openaudit-fixtures/*` models whose cards link these records copy a
# pattern seen on real releases (model-facts.md), in new words. Each record holds every file of its tree (they
# are small), so tests/fakeext.py serves the very same records over the hosts' APIs and a recording through
# the fakes gives back what this store holds (tests/integration/test_expert_verdicts_external.py checks both).
# ---------------------------------------------------------------------------------------------------------------

FIXTURE_TAKEN = "2025-01-15T12:00:00+00:00"
_PY = "import torch\n\n\ndef main() -> None:\n    ...\n\n\nif __name__ == '__main__':\n    main()\n"
_STALE = ("name: Mark stale issues\non:\n  schedule:\n    - cron: '0 0 * * *'\njobs:\n  stale:\n"
          "    runs-on: ubuntu-latest\n")


def read_apache_head() -> str:
    """The opening of the Apache-2.0 text (enough for GitHub's and openaudit's identification)."""
    from pathlib import Path

    text = (Path(__file__).parent / "texts" / "licenses" / "apache-2.0.txt").read_text(encoding="utf-8")
    return text[: text.index("2. Grant of Copyright License")]


def fixture_sha(full: str, files: dict[str, str]) -> str:
    """The commit a fixture repository is at: a hash of its name and files (the fake serves the same)."""
    import hashlib

    h = hashlib.sha1(full.encode())
    for p in sorted(files):
        h.update(p.encode() + b"\0" + files[p].encode())
    return h.hexdigest()


def fixture_repo(full: str, files: dict[str, str], *, license: dict[str, str] | None, archived: bool = False,
                 rid: int, description: str = "") -> dict[str, Any]:
    """A fixture repository, every file's text given (binary files as placeholders of their size)."""
    return {"host": "github", "id": full, "commit": fixture_sha(full, files) if files else None,
            "taken": FIXTURE_TAKEN, "number": rid, "contents": files, "archived": archived,
            "repo": {"full_name": full, "html_url": f"https://github.com/{full}", "description": description,
                     "default_branch": "main", "archived": archived, "disabled": False, "fork": False,
                     "pushed_at": "2024-05-01T10:00:00Z", "created_at": "2024-01-10T09:00:00Z",
                     "visibility": "public", "license": license}}


FX = "openaudit-fixtures"
FIXTURES: list[dict[str, Any]] = [
    # Pattern of github.com/deepseek-ai/DeepSeek-R1 (model-facts DR1): the repository a card points to holds
    # a README, the report as a PDF, a figure, a licence and a stale-issue workflow; no code. Quill-7B's card
    # calls it its training code.
    fixture_repo(f"{FX}/quill-train", {
        "README.md": "# Quill\n\nQuill-7B is a seven-billion-parameter model trained on two trillion tokens.\n\n"
                     "## Paper\n\nSee quill_report.pdf.\n\n## Training code\n\nComing soon: we are cleaning "
                     "up the training scripts and will publish them here.\n\n## License\n\nMIT.\n",
        "LICENSE": "MIT License\n\nCopyright (c) 2024 openaudit-fixtures\n\nPermission is hereby granted, free "
                   "of charge, to any person obtaining a copy of this software.\n",
        "quill_report.pdf": "%PDF-1.5 (placeholder of the report)\n",
        "figures/benchmark.jpg": "JFIF (placeholder of a figure)\n",
        ".github/workflows/stale.yml": _STALE,
    }, license=MIT_LIC, rid=1101),
    # Pattern of DeepSeek-V3 (code under MIT in LICENSE-CODE, weights under the DeepSeek licence) and of
    # Llama's recipes: the code repository is under an open licence while the weights are not. Bright-3B's
    # weights are research-only; its code repository is Apache-2.0 and holds the pre-training pipeline.
    fixture_repo(f"{FX}/bright-lm", {
        "README.md": "# bright-lm\n\n## Install\n\npip install -e .\n\n## Pre-training\n\n"
                     "torchrun scripts/train.py --config configs/pretrain_3b.yaml\n\n## Evaluation\n\n"
                     "python eval/run_eval.py --tasks all\n\n## Data\n\npython data/prepare_data.py builds the "
                     "tokenized mix.\n\n## License\n\nThe code is Apache-2.0. The Bright weights are not: see the "
                     "model card.\n",
        "LICENSE": read_apache_head(),
        "scripts/train.py": _PY,
        "configs/pretrain_3b.yaml": "model: {layers: 32, hidden: 2560}\noptimizer: {lr: 3.0e-4}\n",
        "eval/run_eval.py": _PY,
        "bright/modeling.py": _PY,
        "inference.py": _PY,
        "data/prepare_data.py": _PY,
    }, license=APACHE_LIC, rid=1102),
    # Pattern of meta-llama/llama3 and allenai/OLMo-Eval: a repository its owner retired ("deprecated",
    # later archived on GitHub). Archived code is still published code. Beside it, a data repository that
    # was archived empty.
    fixture_repo(f"{FX}/vintage", {
        "README.md": "# Vintage\n\n**Archived.** This repository is no longer maintained; it stays readable.\n\n"
                     "## Training\n\npython vintage/train.py --config configs/vintage_2b.yaml\n\n## Inference\n\n"
                     "python vintage/generate.py\n",
        "LICENSE": "MIT License\n\nCopyright (c) 2023 openaudit-fixtures\n\nPermission is hereby granted, free "
                   "of charge, to any person obtaining a copy of this software.\n",
        "vintage/train.py": _PY,
        "vintage/generate.py": _PY,
        "configs/vintage_2b.yaml": "model: {layers: 24}\n",
    }, license=MIT_LIC, archived=True, rid=1103),
    fixture_repo(f"{FX}/vintage-data", {}, license=None, archived=True, rid=1104),
    # Pattern of Pythia's card (its own paper beside the Pile's) and Falcon's (the RefinedWeb paper, a
    # reference): three papers cited, one of them the model's own, which only arXiv's record tells.
    arxiv("2406.01111", FIXTURE_TAKEN,
          title="Papyrus: Small Language Models Trained on Curated Public-Domain Text",
          authors=["Ada Moreau", "Jun Park", "Lena Okafor", "Tom Reyes"],
          abstract="We present Papyrus, a family of small language models trained only on public-domain books, "
                   "with the data pipeline and training code released.", created="2024-06-03",
          license="http://creativecommons.org/licenses/by/4.0/",
          # The authors added where it was published, as arXiv lets them (Pythia's ICML 2023 pattern).
          journal_ref="Transactions on Machine Learning Research, 2025"),
    arxiv("2310.02222", FIXTURE_TAKEN, title="A Benchmark for Long-Context Reading Comprehension",
          authors=["Mira Castell"], abstract="A benchmark of reading tasks over long documents.",
          created="2023-10-04"),
    arxiv("2205.03333", FIXTURE_TAKEN, title="Efficient Attention Kernels on Commodity Accelerators",
          authors=["Ravi Anand", "Sofia Lind"], abstract="Fast attention kernels for consumer GPUs.",
          created="2022-05-06", license="http://arxiv.org/licenses/nonexclusive-distrib/1.0/"),
    # Pattern of model-facts case 11 (documented vs downloadable data): the training set is on Zenodo,
    # where its existence and licence can be checked; a second data link is on a project site that cannot.
    {"host": "zenodo", "id": "7654321", "taken": FIXTURE_TAKEN,
     "info": {"title": "TerraScenes: annotated satellite tiles for land-cover segmentation",
              "doi": "10.5281/zenodo.7654321", "license": "cc-by-4.0", "access_right": "open",
              "resource_type": "dataset",
              "files": [{"key": "terrascenes-train.tar.gz", "size": 12_345_678_901},
                        {"key": "terrascenes-val.tar.gz", "size": 1_234_567_890}]},
     # What Zenodo's records API answers (tests/fakeext.py serves it).
     "api": {"metadata": {"title": "TerraScenes: annotated satellite tiles for land-cover segmentation",
                          "license": {"id": "cc-by-4.0"}, "access_right": "open",
                          "resource_type": {"type": "dataset", "title": "Dataset"}},
             "doi": "10.5281/zenodo.7654321",
             "files": [{"key": "terrascenes-train.tar.gz", "size": 12_345_678_901},
                       {"key": "terrascenes-val.tar.gz", "size": 1_234_567_890}]}},
]
