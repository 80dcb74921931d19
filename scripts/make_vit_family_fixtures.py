"""Parity fixtures for the Vision Transformer families RadProbe runs on its ViT engine.

Makes, for each published key layout, a tiny random-initialised model with the reference library, saves it the way
users get it, and saves inputs and reference outputs under Tests/Fixtures/vit-families/<model>/:

- hf_vit:    transformers ViTModel (with its pooler), model.safetensors via save_pretrained(safe_serialization=True);
             cases at the native 16x16, at 24x24 and 16x24 with interpolate_pos_encoding=True.
- timm_vit:  timm VisionTransformer with the ImageNet-21k structure (class token, no LayerScale, a 10-class head),
             state dict as model.pth; dynamic_img_size=True, cases at 16x16 and 24x24.
- hf_mae:    transformers ViTMAEForPreTraining (encoder under vit., decoder.* dropped), model.safetensors; run with
             mask_ratio 0 and noise = arange(N), so the token order is the identity.
- hf_msn:    transformers ViTMSNForImageClassification (vit. prefix, classifier), pytorch_model.bin.
- hf_clip:   a whole transformers CLIPModel (quick GELU; text tower and projections dropped by the loader),
             model.safetensors. Reference CLS = pooler_output; patches = post_layernorm(last_hidden_state[:, 1:]).
- open_clip: open_clip VisionTransformer with ViT-H/14's structure scaled down (exact GELU, ln_pre, no patch bias),
             its state dict under visual. plus a few text-tower keys, as model.pth.

Every model has width 24, 2 heads (head width 12, not 64), 2 blocks, MLP hidden 48, patch 4, image 16. Every
parameter is random, LayerNorm weights 1 + 0.2·N(0,1) and biases 0.2·N(0,1), so a wrong eps, order or key shows.
Each case folder holds input.npy [2, 3, H, W], cls.npy [2, D] and patch.npy [2, N, D] (final norm applied to all
tokens), block0_cls.npy and block0_patch.npy (block 0's output, no norm). manifest.json records the settings and
the parameter counts of the study's full-size backbones as the reference libraries build them (heads, poolers,
projections and decoders excluded).

Reference software, from PyPI: torch==1.13, transformers==4.36.2, timm==0.9.12, open_clip_torch==2.23.0, installed
with `pip install --target DIR` and put on PYTHONPATH. Run from the repository root:
    PYTHONPATH=DIR python3 scripts/make_vit_family_fixtures.py
"""
import json
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join("Tests", "Fixtures", "vit-families")
WIDTH, DEPTH, HEADS, HIDDEN, PATCH, IMAGE = 24, 2, 2, 48, 4, 16


def randomise(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        norms = set()
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.copy_(1 + 0.2 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=generator))
                norms.update([id(module.weight), id(module.bias)])
        for parameter in model.parameters():
            if id(parameter) not in norms:
                parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator))
    model.eval()
    return model


def save_case(folder, name, images, tokens, block0):
    """tokens, block0: [B, 1 + N, D] (tokens already normed)."""
    path = os.path.join(folder, name)
    os.makedirs(path, exist_ok=True)
    arrays = {"input": images, "cls": tokens[:, 0], "patch": tokens[:, 1:],
              "block0_cls": block0[:, 0], "block0_patch": block0[:, 1:]}
    for key, value in arrays.items():
        np.save(os.path.join(path, key + ".npy"), value.detach().numpy().astype(np.float32))


def images(seed, height, width):
    return torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(seed))


def hf_vit(folder):
    from transformers import ViTConfig, ViTModel
    config = ViTConfig(hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=HIDDEN,
                       image_size=IMAGE, patch_size=PATCH, layer_norm_eps=1e-12, hidden_act="gelu")
    model = randomise(ViTModel(config, add_pooling_layer=True), 1)
    model.save_pretrained(folder, safe_serialization=True)
    for name, (h, w), interpolate in [("native", (16, 16), False), ("24", (24, 24), True), ("nonsquare", (16, 24), True)]:
        x = images(11, h, w)
        with torch.no_grad():
            out = model(x, output_hidden_states=True, interpolate_pos_encoding=interpolate)
        save_case(folder, name, x, out.last_hidden_state, out.hidden_states[1])
    return {"library": "transformers ViTModel", "file": "model.safetensors", "layer_norm_eps": 1e-12}


def timm_vit(folder):
    from timm.models.vision_transformer import VisionTransformer
    model = randomise(VisionTransformer(img_size=IMAGE, patch_size=PATCH, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS,
                                        mlp_ratio=HIDDEN / WIDTH, num_classes=10, dynamic_img_size=True), 2)
    torch.save(model.state_dict(), os.path.join(folder, "model.pth"))
    captured = {}
    model.blocks[0].register_forward_hook(lambda module, inputs, output: captured.update(block0=output))
    for name, size in [("native", 16), ("24", 24)]:
        x = images(12, size, size)
        with torch.no_grad():
            tokens = model.forward_features(x)
        save_case(folder, name, x, tokens, captured["block0"])
    return {"library": "timm VisionTransformer", "file": "model.pth", "layer_norm_eps": 1e-6}


def hf_mae(folder):
    from transformers import ViTMAEConfig, ViTMAEForPreTraining
    config = ViTMAEConfig(hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=HIDDEN,
                          image_size=IMAGE, patch_size=PATCH, layer_norm_eps=1e-12, mask_ratio=0.0, decoder_hidden_size=16,
                          decoder_num_hidden_layers=1, decoder_num_attention_heads=2, decoder_intermediate_size=32)
    model = randomise(ViTMAEForPreTraining(config), 3)
    model.save_pretrained(folder, safe_serialization=True)
    x = images(13, 16, 16)
    noise = torch.arange((IMAGE // PATCH) ** 2, dtype=torch.float32).expand(2, -1)
    with torch.no_grad():
        out = model.vit(x, noise=noise, output_hidden_states=True)
    assert torch.equal(out.ids_restore, torch.arange(noise.shape[1]).expand(2, -1))
    save_case(folder, "native", x, out.last_hidden_state, out.hidden_states[1])
    return {"library": "transformers ViTMAEForPreTraining (mask_ratio 0, noise arange)", "file": "model.safetensors",
            "layer_norm_eps": 1e-12}


def hf_msn(folder):
    from transformers import ViTMSNConfig, ViTMSNForImageClassification
    config = ViTMSNConfig(hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=HIDDEN,
                          image_size=IMAGE, patch_size=PATCH, layer_norm_eps=1e-6, num_labels=3)
    model = randomise(ViTMSNForImageClassification(config), 4)
    model.save_pretrained(folder, safe_serialization=False)
    x = images(14, 16, 16)
    with torch.no_grad():
        out = model.vit(x, output_hidden_states=True)
    save_case(folder, "native", x, out.last_hidden_state, out.hidden_states[1])
    return {"library": "transformers ViTMSNForImageClassification", "file": "pytorch_model.bin", "layer_norm_eps": 1e-6}


def hf_clip(folder):
    from transformers import CLIPConfig, CLIPModel
    config = CLIPConfig(
        vision_config=dict(hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=HIDDEN,
                           image_size=IMAGE, patch_size=PATCH, hidden_act="quick_gelu", layer_norm_eps=1e-5),
        text_config=dict(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         max_position_embeddings=8),
        projection_dim=8)
    model = randomise(CLIPModel(config), 5)
    model.save_pretrained(folder, safe_serialization=True)
    x = images(15, 16, 16)
    vision = model.vision_model
    with torch.no_grad():
        out = vision(x, output_hidden_states=True)
        tokens = vision.post_layernorm(out.last_hidden_state)
    assert torch.allclose(tokens[:, 0], out.pooler_output)
    save_case(folder, "native", x, tokens, out.hidden_states[1])
    return {"library": "transformers CLIPModel (quick_gelu)", "file": "model.safetensors", "layer_norm_eps": 1e-5}


def open_clip_vit(folder):
    from open_clip.transformer import VisionTransformer
    model = randomise(VisionTransformer(image_size=IMAGE, patch_size=PATCH, width=WIDTH, layers=DEPTH, heads=HEADS,
                                        mlp_ratio=HIDDEN / WIDTH, output_dim=8, act_layer=nn.GELU, output_tokens=True), 6)
    state = {"visual." + key: value for key, value in model.state_dict().items()}
    generator = torch.Generator().manual_seed(60)
    for key, shape in [("token_embedding.weight", (40, 16)), ("positional_embedding", (8, 16)),
                       ("transformer.resblocks.0.ln_1.weight", (16,)), ("ln_final.weight", (16,)),
                       ("text_projection", (16, 8)), ("logit_scale", ())]:
        state[key] = torch.randn(shape, generator=generator)
    torch.save(state, os.path.join(folder, "model.pth"))
    captured = {}
    model.transformer.resblocks[0].register_forward_hook(lambda module, inputs, output: captured.update(block0=output))
    x = images(16, 16, 16)
    with torch.no_grad():
        pooled, patches = model(x)
        block0 = captured["block0"].permute(1, 0, 2)  # LND -> NLD
    # open_clip returns the projected CLS; the normed CLS before `proj` is recovered from the same forward pass.
    with torch.no_grad():
        normed = normed_tokens(model, x)
    assert torch.allclose(normed[:, 1:], patches, atol=1e-6) and torch.allclose(normed[:, 0] @ model.proj, pooled, atol=1e-5)
    save_case(folder, "native", x, normed, block0)
    return {"library": "open_clip VisionTransformer (GELU)", "file": "model.pth", "layer_norm_eps": 1e-5}


def normed_tokens(model, x):
    """open_clip's forward up to ln_post (all tokens), without the projection."""
    captured = {}
    handle = model.ln_post.register_forward_hook(lambda module, inputs, output: captured.update(tokens=output))
    model(x)
    handle.remove()
    return captured["tokens"]


def backbone_count(model, dropped):
    return sum(p.numel() for name, p in model.named_parameters() if not any(name.startswith(d) for d in dropped))


def study_parameter_counts():
    """Parameters of the study's full-size backbones as the reference libraries build them (uninitialised)."""
    from transformers import CLIPVisionConfig, CLIPVisionModel, ViTConfig, ViTMAEConfig, ViTMAEModel, ViTModel, ViTMSNConfig, ViTMSNModel
    from transformers.modeling_utils import no_init_weights
    from open_clip.transformer import VisionTransformer
    counts = {}
    large = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, image_size=224, patch_size=16)
    with no_init_weights():
        counts["supervised"] = backbone_count(ViTModel(ViTConfig(**large), add_pooling_layer=False), [])
        counts["mae"] = backbone_count(ViTMAEModel(ViTMAEConfig(**large)), [])
        counts["msn"] = backbone_count(ViTMSNModel(ViTMSNConfig(**large)), [])
        counts["clip"] = backbone_count(CLIPVisionModel(CLIPVisionConfig(**dict(large, patch_size=14, hidden_act="quick_gelu"))),
                                        [])
    huge = VisionTransformer(image_size=224, patch_size=14, width=1280, layers=32, heads=16, mlp_ratio=4.0, output_dim=1024)
    counts["openclip"] = backbone_count(huge, ["proj"])
    assert huge.transformer.resblocks[0].attn.head_dim == 80
    return counts


def main():
    torch.manual_seed(0)
    manifest = {"generator": "scripts/make_vit_family_fixtures.py",
                "shape": dict(width=WIDTH, depth=DEPTH, heads=HEADS, mlp_hidden=HIDDEN, patch=PATCH, image=IMAGE),
                "models": {}}
    for name, make in [("hf_vit", hf_vit), ("timm_vit", timm_vit), ("hf_mae", hf_mae), ("hf_msn", hf_msn),
                       ("hf_clip", hf_clip), ("open_clip", open_clip_vit)]:
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        manifest["models"][name] = make(folder)
        config = os.path.join(folder, "config.json")
        if os.path.exists(config):
            os.remove(config)  # the tests read only the weights
        for file in os.listdir(folder):
            if os.path.isfile(os.path.join(folder, file)):
                os.chmod(os.path.join(folder, file), 0o644)
    manifest["study_parameter_counts"] = study_parameter_counts()
    with open(os.path.join(OUT, "manifest.json"), "w") as file:
        json.dump(manifest, file, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
