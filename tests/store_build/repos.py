"""Specifications of every repo in the fixture store (read by build_store.py).

Facts come from /work/shared/reference/model-facts.md. Where the facts are marked [R] the
choice made here is noted in a comment starting with "[R]". Byte sizes are realistic but,
except where model-facts gives an exact number, invented and stable.

Spec keys (models):
  id, version (seeds the commit sha), created, modified, gated, downloads, likes,
  card (path under texts/ or None), texts ({repo path: text spec} stored under files/),
  files ([(path, size)] listed in siblings but not stored: weights, configs, tokenizers),
  config (the API's config excerpt), params (safetensors parameter counts by dtype),
  library_name / pipeline_tag (only when the Hub infers them and the card does not say),
  extra_tags, transformers_info, gguf, revisions (older versions, same keys), aliases.
"""

from __future__ import annotations

import hashlib
from typing import Any

GB = 1_000_000_000

# Old repo ids the Hub redirects to the canonical repo.
REDIRECTS = {"meta-llama/Meta-Llama-3.1-8B": "meta-llama/Llama-3.1-8B"}


def shards(
    total: int,
    sizes: list[int],
    ext: str = "safetensors",
    prefix: str = "model",
    idx_width: int = 5,
    total_width: int = 5,
) -> list[tuple[str, int]]:
    return [(f"{prefix}-{i + 1:0{idx_width}d}-of-{total:0{total_width}d}.{ext}", s) for i, s in enumerate(sizes)]


def mit(owner_line: str, strip_final_newline: bool = False) -> tuple[str, dict[str, str], bool]:
    return ("licenses/mit.txt", {"{COPYRIGHT}": owner_line}, strip_final_newline)


def apache(copyright_line: str | None = None) -> Any:
    if copyright_line is None:
        return "licenses/apache-2.0.txt"
    return ("licenses/apache-2.0.txt", {"Copyright [yyyy] [name of copyright owner]": copyright_line}, False)


# DeepSeek's MIT file is 1,064 bytes on GitHub: no final newline.
DEEPSEEK_MIT = mit("2023 DeepSeek", strip_final_newline=True)
QWEN_APACHE = apache("Copyright 2024 Alibaba Cloud")

HF_TOKENIZER_LLAMA3 = [
    ("tokenizer.json", 9_085_657),
    ("tokenizer_config.json", 50_977),
    ("special_tokens_map.json", 73),
]
CAUSAL_LM = {"auto_model": "AutoModelForCausalLM", "pipeline_tag": "text-generation", "processor": "AutoTokenizer"}


def llama31_like(rid: str, instruct: bool) -> dict[str, Any]:
    return {
        "files": [
            ("config.json", 855 if instruct else 826),
            ("generation_config.json", 184 if instruct else 185),
            *shards(4, [4_976_698_672, 4_999_802_720, 4_915_916_176, 1_168_138_808]),
            ("model.safetensors.index.json", 23_950),
            ("original/consolidated.00.pth", 16_060_617_592),
            ("original/params.json", 199),
            ("original/tokenizer.model", 2_183_982),
            *HF_TOKENIZER_LLAMA3,
        ],
        "config": {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "tokenizer_config": {
                "bos_token": "<|begin_of_text|>",
                "eos_token": "<|eot_id|>" if instruct else "<|end_of_text|>",
            },
        },
        "params": {"BF16": 8_030_261_248},
    }


# ============================================================================ models
MODELS: list[dict[str, Any]] = [
    # ---------------------------------------------------------------- Meta
    {
        "id": "meta-llama/Llama-3.1-8B",
        "version": "2024-10-16",
        "created": "2024-07-14T08:42:06.000Z",
        "modified": "2024-10-16T22:00:37.000Z",
        # [R] gating mode: Meta screens requests and rejects some -> "manual".
        "gated": "manual",
        "downloads": 1_284_377,
        "likes": 1_642,
        "card": "cards/meta-llama__Llama-3.1-8B.md",
        "texts": {"LICENSE": "licenses/llama3.1.txt", "USE_POLICY.md": "licenses/use_policy_llama3.1.md"},
        **llama31_like("meta-llama/Llama-3.1-8B", instruct=False),
        "aliases": ["meta-llama/Meta-Llama-3.1-8B"],
    },
    {
        "id": "meta-llama/Llama-3.1-8B-Instruct",
        "version": "2024-09-25",
        "created": "2024-07-18T08:56:00.000Z",
        "modified": "2024-09-25T17:00:57.000Z",
        "gated": "manual",
        "downloads": 5_862_190,
        "likes": 4_417,
        "card": "cards/meta-llama__Llama-3.1-8B-Instruct.md",
        "texts": {"LICENSE": "licenses/llama3.1.txt", "USE_POLICY.md": "licenses/use_policy_llama3.1.md"},
        # No library_name in the card; the Hub still infers transformers (pre-Aug-2024 repo with config.json).
        "library_name": "transformers",
        "extra_tags": ["conversational"],
        **llama31_like("meta-llama/Llama-3.1-8B-Instruct", instruct=True),
    },
    {
        "id": "meta-llama/Llama-3.2-1B",
        "version": "2024-10-24",
        "created": "2024-09-18T15:03:14.000Z",
        "modified": "2024-10-24T15:08:03.000Z",
        "gated": "manual",
        "downloads": 1_731_660,
        "likes": 1_912,
        "card": "cards/meta-llama__Llama-3.2-1B.md",
        # LICENSE.txt (not LICENSE), as linked from the Llama 3.2 announcement.
        "texts": {"LICENSE.txt": "licenses/llama3.2.txt", "USE_POLICY.md": "licenses/use_policy_llama3.2.md"},
        # [R] extra_gated_eu_disallowed: absent on the 1B text repo (only seen on Vision).
        "files": [
            ("config.json", 843),
            ("generation_config.json", 185),
            ("model.safetensors", 2_471_645_608),
            ("original/consolidated.00.pth", 2_471_677_246),
            ("original/params.json", 220),
            ("original/tokenizer.model", 2_183_982),
            *HF_TOKENIZER_LLAMA3,
        ],
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "params": {"BF16": 1_235_814_400},
    },
    {
        "id": "meta-llama/Llama-2-7b-hf",
        "version": "2024-04-17",
        "created": "2023-07-13T16:16:13.000Z",
        "modified": "2024-04-17T08:40:48.000Z",
        "gated": "manual",
        "downloads": 1_003_412,
        "likes": 2_093,
        "card": "cards/meta-llama__Llama-2-7b-hf.md",
        # [R] file names: LICENSE.txt, USE_POLICY.md, Responsible-Use-Guide.pdf.
        "texts": {"LICENSE.txt": "licenses/llama2.txt", "USE_POLICY.md": "licenses/use_policy_llama2.md"},
        "library_name": "transformers",
        "files": [
            ("Responsible-Use-Guide.pdf", 1_253_223),
            ("config.json", 609),
            ("generation_config.json", 188),
            *shards(2, [9_976_576_152, 3_500_296_424]),
            ("model.safetensors.index.json", 26_788),
            *shards(2, [9_976_634_558, 3_500_315_539], ext="bin", prefix="pytorch_model"),
            ("pytorch_model.bin.index.json", 26_788),
            ("special_tokens_map.json", 414),
            ("tokenizer.json", 1_842_767),
            ("tokenizer.model", 499_723),
            ("tokenizer_config.json", 1_618),
        ],
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "params": {"F16": 6_738_415_616},
    },
    # ---------------------------------------------------------------- Mistral (no LICENSE files)
    {
        "id": "mistralai/Mistral-7B-v0.1",
        "version": "2024-07-24",
        "created": "2023-09-20T13:03:50.000Z",
        "modified": "2024-07-24T14:02:42.000Z",
        # [R] gating mode: contact-info form, approval automatic -> "auto".
        "gated": "auto",
        "downloads": 421_377,
        "likes": 3_720,
        "card": "cards/mistralai__Mistral-7B-v0.1.md",
        "library_name": "transformers",
        "files": [
            ("config.json", 571),
            ("generation_config.json", 116),
            *shards(2, [9_942_981_696, 4_540_516_344]),
            ("model.safetensors.index.json", 25_125),
            *shards(2, [9_943_028_044, 5_064_823_659], ext="bin", prefix="pytorch_model"),
            ("pytorch_model.bin.index.json", 23_950),
            ("special_tokens_map.json", 414),
            ("tokenizer.json", 1_795_188),
            ("tokenizer.model", 493_443),
            ("tokenizer_config.json", 996),
        ],
        "config": {"architectures": ["MistralForCausalLM"], "model_type": "mistral"},
        "params": {"BF16": 7_241_732_096},
    },
    {
        "id": "mistralai/Mistral-7B-v0.3",
        "version": "2024-07-24",
        "created": "2024-05-22T09:56:38.000Z",
        "modified": "2024-07-24T14:02:57.000Z",
        "gated": "auto",
        "downloads": 151_840,
        "likes": 472,
        "card": "cards/mistralai__Mistral-7B-v0.3.md",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "files": [
            ("config.json", 601),
            ("consolidated.safetensors", 14_496_078_512),
            ("generation_config.json", 116),
            *shards(3, [4_949_453_792, 4_999_819_336, 4_546_807_800]),
            ("model.safetensors.index.json", 23_950),
            ("params.json", 202),
            ("special_tokens_map.json", 414),
            ("tokenizer.json", 1_961_548),
            ("tokenizer.model", 587_404),
            ("tokenizer.model.v3", 587_404),
            ("tokenizer_config.json", 137_707),
        ],
        "config": {"architectures": ["MistralForCausalLM"], "model_type": "mistral"},
        "params": {"BF16": 7_248_023_552},
    },
    {
        "id": "mistralai/Mistral-7B-Instruct-v0.3",
        "version": "2024-08-21",
        "created": "2024-05-22T09:57:04.000Z",
        "modified": "2024-08-21T12:18:25.000Z",
        "gated": "auto",
        "downloads": 1_154_092,
        "likes": 1_378,
        "card": "cards/mistralai__Mistral-7B-Instruct-v0.3.md",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "extra_tags": ["conversational"],
        "files": [
            ("config.json", 601),
            ("consolidated.safetensors", 14_496_078_512),
            ("generation_config.json", 116),
            *shards(3, [4_949_453_792, 4_999_819_336, 4_546_807_800]),
            ("model.safetensors.index.json", 23_950),
            ("params.json", 202),
            ("special_tokens_map.json", 414),
            ("tokenizer.json", 1_961_548),
            ("tokenizer.model", 587_404),
            ("tokenizer.model.v3", 587_404),
            ("tokenizer_config.json", 140_874),
        ],
        "config": {"architectures": ["MistralForCausalLM"], "model_type": "mistral"},
        "params": {"BF16": 7_248_023_552},
    },
    {
        "id": "mistralai/Mixtral-8x7B-v0.1",
        "version": "2024-07-24",
        "created": "2023-12-01T09:42:00.000Z",
        "modified": "2024-07-24T14:01:08.000Z",
        "gated": "auto",
        "downloads": 34_930,
        "likes": 1_705,
        "card": "cards/mistralai__Mixtral-8x7B-v0.1.md",
        # [R] no `moe` tag in the card.
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "files": [
            ("config.json", 720),
            ("generation_config.json", 116),
            *shards(19, [4_892_809_584 + (i * 7_919) % 100_000_000 for i in range(18)] + [4_221_679_088]),
            ("model.safetensors.index.json", 92_658),
            ("special_tokens_map.json", 72),
            ("tokenizer.json", 1_795_303),
            ("tokenizer.model", 493_443),
            ("tokenizer_config.json", 967),
        ],
        "config": {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral"},
        "params": {"BF16": 46_702_792_704},
    },
    # ---------------------------------------------------------------- DeepSeek
    {
        "id": "deepseek-ai/DeepSeek-R1",
        "version": "2025-03-27",
        "created": "2025-01-20T03:46:07.000Z",
        "modified": "2025-03-27T04:01:59.000Z",
        "gated": False,
        "downloads": 1_108_622,
        "likes": 12_431,
        "card": "cards/deepseek-ai__DeepSeek-R1.md",
        "texts": {"LICENSE": DEEPSEEK_MIT},
        "extra_tags": ["conversational", "fp8"],
        "files": [
            ("config.json", 1_686),
            ("configuration_deepseek.py", 9_897),
            ("figures/benchmark.jpg", 777_705),
            ("generation_config.json", 171),
            *shards(
                163,
                [4_302_318_000 + (i * 104_729) % 90_000_000 for i in range(162)] + [5_234_139_343],
                idx_width=5,
                total_width=6,
            ),
            ("model.safetensors.index.json", 8_898_324),
            ("modeling_deepseek.py", 75_769),
            ("tokenizer.json", 7_847_602),
            ("tokenizer_config.json", 3_584),
        ],
        "config": {
            "architectures": ["DeepseekV3ForCausalLM"],
            "model_type": "deepseek_v3",
            "auto_map": {
                "AutoConfig": "configuration_deepseek.DeepseekV3Config",
                "AutoModel": "modeling_deepseek.DeepseekV3Model",
                "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM",
            },
            "quantization_config": {
                "activation_scheme": "dynamic",
                "fmt": "e4m3",
                "quant_method": "fp8",
                "weight_block_size": [128, 128],
            },
        },
        "transformers_info": {**CAUSAL_LM, "custom_class": None},
        "params": {"BF16": 3_918_786_560, "F8_E4M3": 680_571_043_840, "F32": 41_555_600},
    },
    {
        "id": "deepseek-ai/DeepSeek-V3",
        "version": "2025-02-24",
        "created": "2024-12-25T11:50:26.000Z",
        "modified": "2025-02-24T03:29:50.000Z",
        "gated": False,
        "downloads": 604_517,
        "likes": 3_902,
        # [R] main front matter: only `library_name: transformers` (no licence key at all).
        "card": "cards/deepseek-ai__DeepSeek-V3.md",
        "texts": {
            "LICENSE-CODE": DEEPSEEK_MIT,
            "LICENSE-MODEL": "licenses/deepseek-license.txt",
            "README_WEIGHTS.md": "extra/deepseek-ai__DeepSeek-V3__README_WEIGHTS.md",
        },
        "pipeline_tag": "text-generation",
        "extra_tags": ["conversational", "fp8"],
        "files": [
            ("config.json", 1_686),
            ("configuration_deepseek.py", 9_897),
            ("figures/benchmark.png", 184_549),
            ("inference/configs/config_16B.json", 417),
            ("inference/configs/config_236B.json", 455),
            ("inference/configs/config_671B.json", 498),
            ("inference/convert.py", 3_711),
            ("inference/fp8_cast_bf16.py", 3_854),
            ("inference/generate.py", 7_431),
            ("inference/kernel.py", 7_994),
            ("inference/model.py", 31_284),
            ("inference/requirements.txt", 66),
            *shards(
                163,
                [4_302_318_000 + (i * 130_363) % 90_000_000 for i in range(162)] + [5_234_139_343],
                idx_width=5,
                total_width=6,
            ),
            ("model.safetensors.index.json", 8_898_324),
            ("modeling_deepseek.py", 75_769),
            ("tokenizer.json", 7_847_602),
            ("tokenizer_config.json", 3_581),
        ],
        "config": {
            "architectures": ["DeepseekV3ForCausalLM"],
            "model_type": "deepseek_v3",
            "auto_map": {
                "AutoConfig": "configuration_deepseek.DeepseekV3Config",
                "AutoModel": "modeling_deepseek.DeepseekV3Model",
                "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM",
            },
            "quantization_config": {
                "activation_scheme": "dynamic",
                "fmt": "e4m3",
                "quant_method": "fp8",
                "weight_block_size": [128, 128],
            },
        },
        "transformers_info": {**CAUSAL_LM, "custom_class": None},
        "params": {"BF16": 3_918_786_560, "F8_E4M3": 680_571_043_840, "F32": 41_555_600},
    },
    {
        # Same README as DeepSeek-R1 (one card for the whole family); no base_model key.
        "id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "version": "2025-02-24",
        "created": "2025-01-20T09:09:42.000Z",
        "modified": "2025-02-24T03:32:07.000Z",
        "gated": False,
        "downloads": 842_210,
        "likes": 703,
        "card": "cards/deepseek-ai__DeepSeek-R1.md",
        "texts": {"LICENSE": DEEPSEEK_MIT},
        "pipeline_tag": "text-generation",
        "extra_tags": ["conversational"],
        "files": [
            ("config.json", 826),
            ("figures/benchmark.jpg", 777_705),
            ("generation_config.json", 181),
            *shards(2, [8_667_820_152, 7_392_745_624], total_width=6),
            ("model.safetensors.index.json", 24_242),
            ("tokenizer.json", 9_085_698),
            ("tokenizer_config.json", 3_061),
        ],
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "params": {"BF16": 8_030_261_248},
    },
    {
        "id": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "version": "2025-02-24",
        "created": "2025-01-20T09:16:14.000Z",
        "modified": "2025-02-24T03:32:35.000Z",
        "gated": False,
        "downloads": 1_019_447,
        "likes": 652,
        "card": "cards/deepseek-ai__DeepSeek-R1.md",
        "texts": {"LICENSE": DEEPSEEK_MIT},
        "pipeline_tag": "text-generation",
        "extra_tags": ["conversational"],
        "files": [
            ("config.json", 680),
            ("figures/benchmark.jpg", 777_705),
            ("generation_config.json", 181),
            # exact byte counts from model-facts (download script / ModelScope listing)
            *shards(2, [8_606_596_466, 6_624_675_384], total_width=6),
            ("model.safetensors.index.json", 27_752),
            ("tokenizer.json", 7_031_660),
            ("tokenizer_config.json", 3_071),
        ],
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
        "params": {"BF16": 7_615_616_512},
    },
    # ---------------------------------------------------------------- fully open families
    {
        "id": "allenai/OLMo-2-1124-7B",
        "version": "2024-12-20",
        "created": "2024-11-25T17:50:56.000Z",
        "modified": "2024-12-20T19:27:07.000Z",
        "gated": False,
        "downloads": 46_718,
        "likes": 131,
        # [R] no LICENSE file (licence in YAML + card prose); no library_name/pipeline_tag in the
        # card, and the Hub no longer assumes transformers for repos created after Aug 2024.
        "card": "cards/allenai__OLMo-2-1124-7B.md",
        "files": [
            ("config.json", 706),
            ("generation_config.json", 137),
            *shards(3, [4_972_489_328, 4_976_740_176, 4_648_019_880]),
            ("model.safetensors.index.json", 23_529),
            ("special_tokens_map.json", 579),
            ("tokenizer.json", 7_144_045),
            ("tokenizer_config.json", 4_560),
        ],
        "config": {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2"},
        "params": {"BF16": 7_298_617_344},
    },
    {
        "id": "EleutherAI/pythia-1b",
        "version": "2023-07-09",
        "created": "2023-03-10T21:42:46.000Z",
        "modified": "2023-07-09T16:05:58.000Z",
        "gated": False,
        "downloads": 62_306,
        "likes": 38,
        # [R] no LICENSE file. `datasets: [the_pile]` is deliberately NOT in the store.
        "card": "cards/EleutherAI__pythia-1b.md",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "files": [
            ("config.json", 569),
            ("model.safetensors", 2_090_750_888),
            ("pytorch_model.bin", 2_090_965_625),
            ("special_tokens_map.json", 99),
            ("tokenizer.json", 2_113_710),
            ("tokenizer_config.json", 396),
        ],
        "config": {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox"},
        "params": {"F16": 1_011_781_632},
    },
    {
        "id": "bigscience/bloom-560m",
        "version": "2023-09-26",
        "created": "2022-05-19T11:51:24.000Z",
        "modified": "2023-09-26T09:16:49.000Z",
        "gated": False,
        "downloads": 203_471,
        "likes": 357,
        "card": "cards/bigscience__bloom-560m.md",
        "texts": {"LICENSE": "licenses/bigscience-bloom-rail-1.0.txt"},
        "library_name": "transformers",
        "files": [
            ("config.json", 693),
            ("flax_model.msgpack", 1_118_459_356),
            ("model.safetensors", 1_118_459_256),
            ("onnx/config.json", 693),
            ("onnx/decoder_model.onnx", 3_233_093_302),
            ("onnx/decoder_model_merged.onnx", 3_234_657_728),
            ("onnx/decoder_with_past_model.onnx", 3_233_100_457),
            ("onnx/special_tokens_map.json", 96),
            ("onnx/tokenizer.json", 14_500_438),
            ("onnx/tokenizer_config.json", 221),
            ("pytorch_model.bin", 1_118_459_481),
            ("special_tokens_map.json", 85),
            ("tokenizer.json", 14_500_438),
            ("tokenizer_config.json", 222),
        ],
        "config": {"architectures": ["BloomForCausalLM"], "model_type": "bloom"},
        "params": {"F16": 559_214_592},
    },
    {
        "id": "google/gemma-2-9b",
        "version": "2024-08-07",
        "created": "2024-06-24T08:05:41.000Z",
        "modified": "2024-08-07T18:25:59.000Z",
        "gated": "auto",
        "downloads": 38_925,
        "likes": 653,
        # No LICENSE file: the terms live at ai.google.dev/gemma/terms.
        "card": "cards/google__gemma-2-9b.md",
        "files": [
            ("config.json", 857),
            ("generation_config.json", 168),
            *shards(
                8,
                [
                    4_903_351_912,
                    4_947_570_872,
                    4_962_221_464,
                    4_962_221_496,
                    4_962_221_496,
                    4_962_221_496,
                    4_962_221_496,
                    2_976_527_784,
                ],
            ),
            ("model.safetensors.index.json", 39_681),
            ("special_tokens_map.json", 636),
            ("tokenizer.json", 34_356_022),
            ("tokenizer.model", 4_241_003),
            ("tokenizer_config.json", 46_405),
        ],
        "config": {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2"},
        "params": {"F32": 9_241_705_984},
    },
    {
        "id": "microsoft/phi-2",
        "version": "2024-04-29",
        "created": "2023-12-13T21:19:59.000Z",
        "modified": "2024-04-29T16:25:56.000Z",
        "gated": False,
        "downloads": 297_561,
        "likes": 3_291,
        "card": "cards/microsoft__phi-2.md",
        "texts": {"LICENSE": mit("Microsoft Corporation."), "NOTICE.md": "extra/microsoft__phi-2__NOTICE.md"},
        "library_name": "transformers",
        "files": [
            ("CODE_OF_CONDUCT.md", 444),
            ("SECURITY.md", 2_656),
            ("added_tokens.json", 1_080),
            ("config.json", 735),
            ("generation_config.json", 124),
            ("merges.txt", 456_318),
            *shards(2, [4_995_584_424, 563_832_976]),
            ("model.safetensors.index.json", 35_706),
            ("special_tokens_map.json", 99),
            ("tokenizer.json", 2_114_924),
            ("tokenizer_config.json", 7_340),
            ("vocab.json", 798_156),
        ],
        "config": {"architectures": ["PhiForCausalLM"], "model_type": "phi"},
        "params": {"F16": 2_779_683_840},
        # The launch revision under the Microsoft Research License (non-commercial).
        "revisions": [
            {
                "id": "microsoft/phi-2",
                "version": "2023-12-16",
                "created": "2023-12-13T21:19:59.000Z",
                "modified": "2023-12-16T10:38:35.000Z",
                "gated": False,
                "downloads": 297_561,
                "likes": 3_291,
                "card": "cards/microsoft__phi-2@v1.md",
                "texts": {"LICENSE": "licenses/microsoft-research-license.txt"},
                "library_name": "transformers",
                "files": [
                    ("CODE_OF_CONDUCT.md", 444),
                    ("SECURITY.md", 2_656),
                    ("added_tokens.json", 1_080),
                    ("config.json", 863),
                    ("configuration_phi.py", 2_031),
                    ("generation_config.json", 69),
                    ("merges.txt", 456_318),
                    *shards(2, [4_995_584_848, 563_832_976]),
                    ("model.safetensors.index.json", 35_706),
                    ("modeling_phi.py", 33_432),
                    ("special_tokens_map.json", 99),
                    ("tokenizer.json", 2_114_924),
                    ("tokenizer_config.json", 7_340),
                    ("vocab.json", 798_156),
                ],
                "config": {
                    "architectures": ["PhiForCausalLM"],
                    "model_type": "phi-msft",
                    "auto_map": {
                        "AutoConfig": "configuration_phi.PhiConfig",
                        "AutoModelForCausalLM": "modeling_phi.PhiForCausalLM",
                    },
                },
                "transformers_info": {**CAUSAL_LM, "custom_class": "modeling_phi.PhiForCausalLM"},
                "params": {"F16": 2_779_683_840},
            }
        ],
    },
    {
        "id": "Qwen/Qwen2.5-7B",
        "version": "2024-09-25",
        "created": "2024-09-15T12:17:40.000Z",
        "modified": "2024-09-25T12:32:50.000Z",
        "gated": False,
        "downloads": 581_204,
        "likes": 176,
        "card": "cards/Qwen__Qwen2.5-7B.md",
        "texts": {"LICENSE": QWEN_APACHE},
        "files": [
            ("config.json", 686),
            ("generation_config.json", 138),
            ("merges.txt", 1_671_853),
            *shards(4, [3_945_426_872, 3_864_726_352, 3_864_726_424, 3_556_392_240]),
            ("model.safetensors.index.json", 27_752),
            ("tokenizer.json", 7_031_645),
            ("tokenizer_config.json", 7_230),
            ("vocab.json", 2_776_833),
        ],
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
        "params": {"BF16": 7_615_616_512},
    },
    {
        "id": "tiiuae/falcon-7b",
        "version": "2024-10-12",
        "created": "2023-04-24T16:36:24.000Z",
        "modified": "2024-10-12T13:12:20.000Z",
        "gated": False,
        "downloads": 101_346,
        "likes": 1_085,
        # [R] the current revision carries no LICENSE file (licence only in YAML + prose).
        "card": "cards/tiiuae__falcon-7b.md",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "files": [
            ("config.json", 1_050),
            ("configuration_falcon.py", 6_699),
            ("generation_config.json", 117),
            *shards(2, [9_951_028_193, 4_483_421_659]),
            ("model.safetensors.index.json", 16_925),
            ("modeling_falcon.py", 56_893),
            *shards(2, [9_951_028_193, 4_483_421_659], ext="bin", prefix="pytorch_model"),
            ("pytorch_model.bin.index.json", 16_923),
            ("special_tokens_map.json", 281),
            ("tokenizer.json", 2_734_130),
            ("tokenizer_config.json", 287),
        ],
        "config": {"architectures": ["FalconForCausalLM"], "model_type": "falcon"},
        "params": {"BF16": 6_921_720_704},
        # The launch revision under the TII Falcon LLM License (May 2023).
        "revisions": [
            {
                "id": "tiiuae/falcon-7b",
                "version": "2023-05-26",
                "created": "2023-04-24T16:36:24.000Z",
                "modified": "2023-05-26T11:37:12.000Z",
                "gated": False,
                "downloads": 101_346,
                "likes": 1_085,
                "card": "cards/tiiuae__falcon-7b@v1.md",
                "texts": {"LICENSE.txt": "licenses/tii-falcon-llm-license-1.0.txt"},
                "library_name": "transformers",
                "pipeline_tag": "text-generation",
                "files": [
                    ("config.json", 667),
                    ("configuration_RW.py", 2_607),
                    ("generation_config.json", 111),
                    ("modelling_RW.py", 47_519),
                    *shards(2, [9_951_028_193, 4_483_421_659], ext="bin", prefix="pytorch_model"),
                    ("pytorch_model.bin.index.json", 16_923),
                    ("special_tokens_map.json", 281),
                    ("tokenizer.json", 2_734_130),
                    ("tokenizer_config.json", 220),
                ],
                "config": {
                    "architectures": ["RWForCausalLM"],
                    "model_type": "RefinedWebModel",
                    "auto_map": {
                        "AutoConfig": "configuration_RW.RWConfig",
                        "AutoModelForCausalLM": "modelling_RW.RWForCausalLM",
                    },
                },
                "transformers_info": {**CAUSAL_LM, "custom_class": "modelling_RW.RWForCausalLM"},
            }
        ],
    },
    {
        "id": "HuggingFaceTB/SmolLM2-1.7B",
        "version": "2024-11-06",
        "created": "2024-10-30T22:50:10.000Z",
        "modified": "2024-11-06T16:23:31.000Z",
        "gated": False,
        "downloads": 71_412,
        "likes": 96,
        # [R] no LICENSE file; no `datasets` key (FineWeb-Edu, DCLM, The Stack named in prose with links).
        "card": "cards/HuggingFaceTB__SmolLM2-1.7B.md",
        "pipeline_tag": "text-generation",
        "files": [
            ("config.json", 737),
            ("generation_config.json", 111),
            ("merges.txt", 466_391),
            ("model.safetensors", 3_422_777_952),
            ("special_tokens_map.json", 831),
            ("tokenizer.json", 2_104_556),
            ("tokenizer_config.json", 3_764),
            ("vocab.json", 800_662),
        ],
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "params": {"BF16": 1_711_376_384},
    },
    {
        "id": "LLM360/Amber",
        "version": "2024-03-20",
        "created": "2023-11-30T00:13:38.000Z",
        "modified": "2024-03-20T20:08:21.000Z",
        "gated": False,
        "downloads": 2_118,
        "likes": 75,
        # [R] YAML: apache-2.0, en, text-generation, transformers, tags nlp/llm, and
        # `datasets: [LLM360/AmberDatasets]` (so the data dimension resolves). Weights: .bin shards only.
        # [R] the reported LLM360 -> IFM org rename is not modelled.
        "card": "cards/LLM360__Amber.md",
        "files": [
            ("amber_logo.png", 158_916),
            ("config.json", 653),
            ("generation_config.json", 132),
            ("loss_curve.png", 62_208),
            *shards(2, [9_976_638_373, 3_500_317_102], ext="bin", prefix="pytorch_model"),
            ("pytorch_model.bin.index.json", 23_950),
            ("special_tokens_map.json", 414),
            ("tokenizer.model", 499_723),
            ("tokenizer_config.json", 749),
        ],
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
    },
    {
        "id": "ibm-granite/granite-3.0-8b-base",
        "version": "2024-12-19",
        "created": "2024-10-02T15:47:32.000Z",
        "modified": "2024-12-19T19:48:56.000Z",
        "gated": False,
        "downloads": 8_937,
        "likes": 24,
        # [R] no LICENSE file.
        "card": "cards/ibm-granite__granite-3.0-8b-base.md",
        "files": [
            ("config.json", 786),
            ("generation_config.json", 132),
            ("merges.txt", 441_794),
            *shards(4, [4_974_558_400, 4_991_431_456, 4_960_040_240, 1_415_693_216]),
            ("model.safetensors.index.json", 29_809),
            ("special_tokens_map.json", 801),
            ("tokenizer.json", 3_478_924),
            ("tokenizer_config.json", 5_045),
            ("vocab.json", 776_927),
        ],
        "config": {"architectures": ["GraniteForCausalLM"], "model_type": "granite"},
        "params": {"BF16": 8_170_864_640},
    },
    # ---------------------------------------------------------------- referenced base models
    {
        "id": "Qwen/Qwen2.5-Math-7B",
        "version": "2024-09-24",
        "created": "2024-09-16T09:48:32.000Z",
        "modified": "2024-09-24T08:46:18.000Z",
        "gated": False,
        "downloads": 92_018,
        "likes": 71,
        "card": "cards/Qwen__Qwen2.5-Math-7B.md",
        "texts": {"LICENSE": QWEN_APACHE},
        "files": [
            ("config.json", 663),
            ("generation_config.json", 138),
            ("merges.txt", 1_671_853),
            *shards(4, [3_945_426_872, 3_864_726_352, 3_864_726_424, 3_556_392_240]),
            ("model.safetensors.index.json", 27_752),
            ("tokenizer.json", 7_031_645),
            ("tokenizer_config.json", 7_303),
            ("vocab.json", 2_776_833),
        ],
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
        "params": {"BF16": 7_615_616_512},
    },
]

# ---------------------------------------------------------------- synthetic fixtures
FIXTURE_CREATED = "2025-01-15T10:00:00.000Z"
FIXTURE_MODIFIED = "2025-01-15T12:00:00.000Z"
_SMALL_LLAMA = [
    ("config.json", 878),
    ("generation_config.json", 184),
    *shards(4, [4_976_698_672, 4_999_802_720, 4_915_916_176, 1_168_138_808]),
    ("model.safetensors.index.json", 23_950),
    *HF_TOKENIZER_LLAMA3,
]
_LLAMA_CFG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
_SMALL_QWEN = [
    ("config.json", 659),
    ("generation_config.json", 138),
    ("merges.txt", 1_671_853),
    ("model.safetensors", 988_097_824),
    ("tokenizer.json", 7_031_645),
    ("tokenizer_config.json", 7_230),
    ("vocab.json", 2_776_833),
]
_QWEN_CFG = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}


def fixture(name: str, **kw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": f"openaudit-fixtures/{name}",
        "version": "fixture-1",
        "created": FIXTURE_CREATED,
        "modified": FIXTURE_MODIFIED,
        "gated": False,
        "downloads": 0,
        "likes": 0,
        "card": f"fixtures/{name}.md",
    }
    spec.update(kw)
    return spec


MODELS += [
    fixture(
        "apache-tag-llama-license",
        texts={"LICENSE": "licenses/llama3.1.txt"},
        files=_SMALL_LLAMA,
        config=_LLAMA_CFG,
        params={"BF16": 8_030_261_248},
    ),
    fixture(
        "llama-finetune-mit",
        texts={"LICENSE": mit("2025 openaudit-fixtures")},
        files=_SMALL_LLAMA,
        config=_LLAMA_CFG,
        params={"BF16": 8_030_261_248},
    ),
    fixture(
        "no-card",
        card=None,
        library_name="transformers",
        pipeline_tag="text-generation",
        files=_SMALL_QWEN,
        config=_QWEN_CFG,
        params={"BF16": 494_032_768},
    ),
    fixture(
        "placeholder-card",
        pipeline_tag="text-generation",
        files=_SMALL_QWEN,
        config=_QWEN_CFG,
        params={"BF16": 494_032_768},
    ),
    fixture(
        "bad-yaml",
        library_name="transformers",
        pipeline_tag="text-generation",
        files=_SMALL_QWEN,
        config=_QWEN_CFG,
        params={"BF16": 494_032_768},
    ),
    fixture("cycle-a", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("cycle-b", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("missing-base", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture(
        "gguf-only",
        files=[("qwen2.5-7b-q4_k_m.gguf", 4_683_073_184), ("qwen2.5-7b-q8_0.gguf", 8_098_525_888)],
        config={},
        extra_tags=["conversational"],
        gguf={
            "total": 7_615_616_512,
            "architecture": "qwen2",
            "context_length": 131_072,
            "chat_template": "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' "
            "+ message.content + '<|im_end|>' + '\\n' }}{%- endfor %}",
            "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>",
            "totalFileSize": 4_683_073_184 + 8_098_525_888,
        },
    ),
    fixture("eval-datasets-invalid", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    # Issue 19: one card per class of real-card error, each with the verdict an expert would give.
    fixture("training-repo-in-finetuning-section", texts={"LICENSE": apache("Copyright 2025 openaudit-fixtures")},
            files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("loads-with-transformers", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("cited-papers-only", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("datasets-plus-curated", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("source-table-no-datasets", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    # The Trainer template's "fine-tuned version of" sentence, a permissive tag, and the base's licence text.
    fixture("finetuned-version-of", texts={"LICENSE": "licenses/llama3.1.txt"}, files=_SMALL_LLAMA,
            config=_LLAMA_CFG, params={"BF16": 8_030_261_248}),
    fixture("reupload-other-licence", files=_SMALL_LLAMA, config=_LLAMA_CFG, params={"BF16": 8_030_261_248}),
    # ---- issue 19, classes 6-11: verdicts an expert would sign
    # Weights in formats beyond safetensors/PyTorch: an ExecuTorch program, gemma.cpp's .sbs, and a
    # runtime's own format that no rule knows (unknown, never "no weights").
    fixture(
        "executorch-pte",
        texts={"LICENSE": apache()},
        files=[("smollm2-1.7b-instruct-8da4w.pte", 1_071_843_328), ("tokenizer.json", 2_104_556)],
        config={},
    ),
    fixture(
        "gemma-cpp-sbs",
        gated="auto",
        files=[("2b-it-sfp.sbs", 2_506_431_488), ("tokenizer.spm", 4_241_003)],
        config={},
    ),
    fixture(
        "unknown-weights-format",
        texts={"LICENSE": mit("2025 openaudit-fixtures")},
        files=[("kestrel-3b.weights", 6_012_774_400), ("kestrel-3b.vocab", 871_204)],
        config={},
    ),
    # A mixture-of-experts model whose card gives two models' token counts in one sentence.
    fixture(
        "Maverick-MoE-17B-128E",
        texts={"LICENSE": apache("Copyright 2025 openaudit-fixtures")},
        files=[
            ("config.json", 4_612),
            ("generation_config.json", 210),
            *shards(55, [7_296_065_536] * 55),
            ("model.safetensors.index.json", 1_102_377),
            *HF_TOKENIZER_LLAMA3,
        ],
        config={"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4"},
        params={"BF16": 401_583_781_376},
    ),
    # A gated repo recorded without a token: metadata and file list, no README.md or LICENSE.txt text.
    fixture(
        "gated-no-token",
        gated="manual",
        texts={"LICENSE.txt": "licenses/llama3.2.txt", "USE_POLICY.md": "licenses/use_policy_llama3.2.md"},
        not_stored=["README.md", "LICENSE.txt", "USE_POLICY.md"],
        files=_SMALL_LLAMA,
        config=_LLAMA_CFG,
        params={"BF16": 1_235_814_400},
    ),
    # "Open source" in the name, a non-commercial licence.
    fixture(
        "Vega-7B-OpenSource",
        files=[("config.json", 702), *shards(3, [4_943_162_336, 4_999_819_336, 4_540_516_344]),
               ("model.safetensors.index.json", 23_950), ("tokenizer.json", 3_506_061)],
        config={"architectures": ["MistralForCausalLM"], "model_type": "mistral"},
        params={"BF16": 7_241_732_096},
    ),
    fixture("other-license-no-file", files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    # ---- issue 25: cards whose links outside the Hub were read (external_records.FIXTURES holds them).
    fixture("Quill-7B", card="fixtures/Quill-7B.md", files=_SMALL_LLAMA, config=_LLAMA_CFG,
            params={"BF16": 8_030_261_248}),
    fixture("Bright-3B", card="fixtures/Bright-3B.md", texts={"LICENSE": "fixtures/bright-community-license.txt"},
            files=_SMALL_QWEN, config=_QWEN_CFG, params={"BF16": 494_032_768}),
    fixture("Papyrus-1B", card="fixtures/Papyrus-1B.md", files=_SMALL_QWEN, config=_QWEN_CFG,
            params={"BF16": 494_032_768}),
    fixture("Vintage-2B", card="fixtures/Vintage-2B.md", files=_SMALL_QWEN, config=_QWEN_CFG,
            params={"BF16": 494_032_768}),
    fixture("TerraSeg-base", card="fixtures/TerraSeg-base.md",
            files=[("config.json", 1_204), ("model.safetensors", 343_000_000)], config={},
            params={"F32": 85_750_000}),
]

KNOWN_MODEL_IDS = {m["id"] for m in MODELS}

# ============================================================================ datasets
# Linked repos the Hub answered 404 for when the store was taken (store.NOT_FOUND records): without a
# record a replay would say "not recorded", which is the truth about a store, not about the Hub.
# The Pile's hosting was withdrawn (model-facts.md case 11): pythia's `datasets: [the_pile]` is a 404.
NOT_FOUND: list[tuple[str, str]] = [("model", "openaudit-fixtures/does-not-exist"), ("dataset", "the_pile")]

DATASETS: list[dict[str, Any]] = [
    {
        "id": "allenai/olmo-mix-1124",
        "version": "2024-12-02",
        "created": "2024-11-24T04:37:18.000Z",
        "modified": "2024-12-02T15:57:43.000Z",
        "gated": False,
        "downloads": 28_113,
        "likes": 63,
        "card": "datasets/allenai__olmo-mix-1124.md",
        "extra_tags": ["format:json", "modality:text", "library:datasets", "library:mlcroissant"],
        "files": [
            *[
                (f"data/algebraic-stack/train/algebraic-stack-train-{i:04d}.json.gz", 497_123_000 + i * 3_517)
                for i in range(4)
            ],
            *[(f"data/arxiv/train/arxiv-{i:04d}.json.gz", 612_880_000 + i * 2_203) for i in range(4)],
            *[
                (
                    f"data/dclm/raw/hero-run-fasttext_for_HF/filtered/OH_eli5_vs_rw_v2_bigram_200k_train/fasttext_openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train/processed_data/global-shard_{s:02d}_of_10/local-shard_0_of_10/shard_{i:08d}_processed.jsonl.zst",
                    1_031_456_000 + i * 9_311 + s,
                )
                for s in range(1, 3)
                for i in range(3)
            ],
            *[
                (f"data/open-web-math/train/open-web-math-train-{i:04d}.json.gz", 398_000_000 + i * 1_117)
                for i in range(3)
            ],
            *[(f"data/pes2o/pes2o-{i:04d}.json.gz", 705_440_000 + i * 5_011) for i in range(4)],
            *[
                (
                    f"data/starcoder/v1-decon-100_to_20k-2star-top_token_030/documents/{i:04d}.json.gz",
                    160_118_000 + i * 777,
                )
                for i in range(4)
            ],
            ("data/wiki/wiki-0000.json.gz", 1_523_004_551),
            ("data/wiki/wiki-0001.json.gz", 1_498_771_204),
        ],
    },
    {
        "id": "allenai/dolmino-mix-1124",
        "version": "2024-12-17",
        "created": "2024-11-24T04:39:52.000Z",
        "modified": "2024-12-17T23:01:13.000Z",
        "gated": False,
        "downloads": 9_004,
        "likes": 38,
        "card": "datasets/allenai__dolmino-mix-1124.md",
        "extra_tags": ["format:json", "modality:text", "library:datasets", "library:mlcroissant"],
        "files": [
            *[
                (f"data/dclm/{i:04d}/shard_{j:08d}_processed.jsonl.zst", 980_115_000 + i * 7_001 + j)
                for i in range(2)
                for j in range(3)
            ],
            *[(f"data/flan/flan-{i:04d}.json.gz", 271_930_000 + i * 313) for i in range(3)],
            *[
                (f"data/math/{name}/train-{i:04d}.jsonl", 88_001_000 + i * 91)
                for name in ("dolmino_math_synth", "mathcoder2-synthmath", "tinyGSM-MIND", "tulu_math")
                for i in range(2)
            ],
            *[(f"data/pes2o/pes2o-{i:04d}.json.gz", 705_440_000 + i * 5_011) for i in range(3)],
            ("data/stackexchange/stackexchange-0000.json.gz", 1_203_110_442),
            ("data/wiki/wiki-0000.json.gz", 1_523_004_551),
        ],
    },
    {
        "id": "tiiuae/falcon-refinedweb",
        "version": "2023-06-20",
        "created": "2023-05-25T18:51:00.000Z",
        "modified": "2023-06-20T12:38:07.000Z",
        "gated": False,
        "downloads": 11_372,
        "likes": 861,
        "card": "datasets/tiiuae__falcon-refinedweb.md",
        "citation": (
            "@article{refinedweb, title={The RefinedWeb dataset for Falcon LLM},"
            " journal={arXiv preprint arXiv:2306.01116}, year={2023}}"
        ),
        "extra_tags": [
            "format:parquet",
            "modality:text",
            "modality:image",
            "library:datasets",
            "library:dask",
            "library:mlcroissant",
            "library:polars",
        ],
        # A sample of the ~5,534 parquet shards (~84 MB each, ~466 GB in total).
        "files": [
            (
                f"data/train-{i:05d}-of-05534-{hashlib.sha1(str(i).encode()).hexdigest()[:16]}.parquet",
                84_300_000 + (i * 48_271) % 2_000_000,
            )
            for i in range(0, 5534, 139)
        ],
    },
    {
        "id": "LLM360/AmberDatasets",
        "version": "2024-01-04",
        "created": "2023-12-04T18:58:20.000Z",
        "modified": "2024-01-04T14:39:23.000Z",
        "gated": False,
        "downloads": 1_317,
        "likes": 40,
        "card": "datasets/LLM360__AmberDatasets.md",
        "extra_tags": ["format:json", "modality:text", "library:datasets", "library:mlcroissant"],
        "files": [
            ("amber_logo.png", 158_916),
            *[(f"train/train_{i:03d}.jsonl", 19_480_000_000 + (i * 77_003) % 40_000_000) for i in range(360)],
        ],
    },
    # Linked from SmolLM2's card prose (SmolLM2 declares no `datasets`).
    {
        "id": "HuggingFaceFW/fineweb-edu",
        "version": "2024-07-11",
        "created": "2024-05-28T14:32:57.000Z",
        "modified": "2024-07-11T18:14:07.000Z",
        "gated": False,
        "downloads": 301_557,
        "likes": 591,
        "card": "datasets/HuggingFaceFW__fineweb-edu.md",
        "extra_tags": [
            "format:parquet",
            "modality:text",
            "library:datasets",
            "library:dask",
            "library:mlcroissant",
            "library:polars",
        ],
        "files": [
            *[(f"data/CC-MAIN-2024-10/train-{i:05d}-of-00018.parquet", 2_143_000_000 + i * 1_301) for i in range(18)],
            *[(f"sample/10BT/{i:03d}_00000.parquet", 2_149_000_000 + i * 1_009) for i in range(14)],
        ],
    },
    {
        "id": "mlfoundations/dclm-baseline-1.0",
        "version": "2024-07-22",
        "created": "2024-06-17T18:57:13.000Z",
        "modified": "2024-07-22T15:27:52.000Z",
        "gated": False,
        "downloads": 19_032,
        "likes": 210,
        "card": "datasets/mlfoundations__dclm-baseline-1.0.md",
        "extra_tags": ["format:json", "modality:text", "library:datasets", "library:mlcroissant"],
        "files": [
            (
                f"global-shard_01_of_10/local-shard_{j}_of_10/shard_{i:08d}_processed.jsonl.zst",
                327_001_000 + i * 311 + j,
            )
            for j in range(2)
            for i in range(5)
        ],
    },
    {
        "id": "bigcode/the-stack",
        "version": "2023-04-13",
        "created": "2022-10-03T16:16:47.000Z",
        "modified": "2023-04-13T12:15:50.000Z",
        "gated": "auto",
        "downloads": 13_708,
        "likes": 783,
        "card": "datasets/bigcode__the-stack.md",
        "extra_tags": [
            "format:parquet",
            "modality:tabular",
            "modality:text",
            "library:datasets",
            "library:dask",
            "library:mlcroissant",
            "library:polars",
        ],
        "files": [
            (f"data/{lang}/data-{i:05d}-of-{n:05d}.parquet", 356_112_000 + i * 4_513 + len(lang))
            for lang, n in (("python", 206), ("javascript", 259), ("c", 244))
            for i in range(3)
        ],
    },
]
