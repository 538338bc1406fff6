"""CLIP's text tower run only up to each query's end-of-text token: same vectors, less work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Pooling modes that read the features at the end-of-text position, which a causal mask
# keeps independent of every token after it.
_EOT_POOLING = ("argmax", "eos")


def supports_truncation(model: Any) -> bool:
    """Whether `model` has an open_clip built-in text tower with a causal attention mask.

    Only then can the padding after the end-of-text token be dropped without changing the
    result: each position attends to itself and earlier ones only, and the pooled feature is
    taken at the end-of-text position. Towers from Hugging Face or with bidirectional
    attention (SigLIP, for one) keep open_clip's own `encode_text`.
    """
    import torch

    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final")
    if not all(hasattr(model, name) for name in needed):
        return False
    if getattr(model, "text_pool_type", None) not in _EOT_POOLING:
        return False
    mask = getattr(model, "attn_mask", None)
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        return False
    blocked = torch.isinf(mask)
    later = torch.ones_like(blocked).triu(1)  # positions after each query position
    return bool(blocked[later].all()) and not bool(blocked[~later].any())


def end_positions(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """Index of each row's end-of-text token, as open_clip's pooling finds it."""
    if model.text_pool_type == "argmax":  # the end-of-text id is the largest in the vocabulary
        return tokens.argmax(dim=-1)
    ends: torch.Tensor = (tokens == model.text_eos_id).int().argmax(dim=-1)
    return ends


def truncate_to_eot(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """`tokens` cut after the batch's last end-of-text token (the rest is padding)."""
    return tokens[:, : int(end_positions(model, tokens).max()) + 1]


def encode_truncated(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's `encode_text` for tokens already cut by `truncate_to_eot`.

    A typed query is a handful of tokens in a 77-token context, so the transformer runs on
    a fraction of the sequence. The length is read from the tensor's shape, so an ONNX
    export of this function keeps it dynamic.
    """
    import torch

    length = tokens.shape[1]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    pooled = x[torch.arange(x.shape[0], device=x.device), end_positions(model, tokens)]
    projection = model.text_projection
    if projection is not None:
        pooled = (
            projection(pooled) if isinstance(projection, torch.nn.Linear) else pooled @ projection
        )
    features: torch.Tensor = pooled
    return features


def encode_text_to_eot(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """The same vectors as open_clip's `encode_text`, computing only up to end-of-text."""
    return encode_truncated(model, truncate_to_eot(model, tokens))
