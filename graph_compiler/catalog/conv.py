"""Convolution, pooling and resampling."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import inferred, match_inferred, prod, size, spatial
from graph_compiler.catalog.spec import (
    MAX_SIZE,
    REQUIRED,
    CountFn,
    NodeSpec,
    Param,
    ResolveFn,
    Shape,
    ShapeError,
    ShapeFn,
    call_expr,
    fmt_shape,
    pair,
)

CONV = "Convolution"
POOL = "Pooling"
_LAYOUT = {1: "[B, C, L]", 2: "[B, C, H, W]"}


def _conv_params(nd: int, transposed: bool = False) -> tuple[Param, ...]:
    ps = [
        inferred("in_channels", "input channels (inferred)"),
        size("out_channels", "output channels (filters)"),
        Param("kernel_size", "ints", REQUIRED, "kernel size", min=1, max=1024, length=nd),
        Param("stride", "ints", 1, "step between applications", min=1, max=1024, length=nd),
        Param("padding", "ints" if transposed else "padding", 0,
              "zero padding on each side" + ("" if transposed else ", or 'same' / 'valid'"),
              min=0, max=1024, length=nd),
    ]
    if transposed:
        ps.append(Param("output_padding", "ints", 0, "extra size added to one side of the output",
                        min=0, max=1024, length=nd))
    ps += [
        Param("groups", "int", 1, "split channels into groups; groups = in_channels is depthwise",
              min=1, max=1 << 24),
        Param("bias", "bool", True, "learn an additive bias"),
        Param("dilation", "ints", 1, "spacing between kernel elements", min=1, max=1024, length=nd),
    ]
    if not transposed:
        ps.append(Param("padding_mode", "choice", "zeros", "how to pad",
                        choices=("zeros", "reflect", "replicate", "circular")))
    return tuple(ps)


def _conv_resolve(type_name: str, nd: int) -> ResolveFn:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        shape = ins[0]
        if len(shape) != nd + 2:
            hint = "; add a Reshape or Unflatten?" if len(shape) < nd + 2 else ""
            raise ShapeError(f"{type_name} expects {_LAYOUT[nd]}, gets {fmt_shape(shape)}{hint}")
        params = match_inferred(params, "in_channels", shape[1],
                                type_name + " expects {given} input channels, gets " + fmt_shape(shape))
        g = params["groups"]
        for name in ("in_channels", "out_channels"):
            if params[name] % g:
                raise ShapeError(f"{type_name}: {name}={params[name]} is not divisible by groups={g}", "groups")
        _check_padding_mode(type_name, nd, params, shape)
        if params.get("output_padding", 0) != 0:
            ops, ss, ds = (pair(params[k], nd) for k in ("output_padding", "stride", "dilation"))
            if any(o >= max(s, d) for o, s, d in zip(ops, ss, ds)):
                raise ShapeError(f"{type_name}: output_padding must be smaller than stride or dilation",
                                 "output_padding")
        return params
    return resolve


def _check_padding_mode(type_name: str, nd: int, params: dict[str, Any], shape: Shape) -> None:
    """reflect / circular padding read the input itself, so it must be wide enough."""
    mode = params.get("padding_mode", "zeros")
    if mode not in ("reflect", "circular"):
        return
    pad = params["padding"]
    if pad == "valid":
        return
    if pad == "same":
        ks, ds = pair(params["kernel_size"], nd), pair(params["dilation"], nd)
        totals = [d * (k - 1) for k, d in zip(ks, ds)]
        sides = [t - t // 2 for t in totals]  # the larger of the two sides
    else:
        sides = list(pair(pad, nd))
    for side, length in zip(sides, shape[2:]):
        if side >= length if mode == "reflect" else side > length:
            need = "smaller than" if mode == "reflect" else "at most"
            raise ShapeError(f"{type_name}: padding_mode='{mode}' needs padding {need} the input "
                             f"size, gets padding {side} for {fmt_shape(shape)}", "padding")


def _conv_shape(type_name: str, nd: int, transposed: bool = False) -> ShapeFn:
    def shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
        out = spatial(type_name, ins[0], nd, params, transposed)
        return [(ins[0][0], params["out_channels"], *out)]
    return shape


def _conv_count(nd: int, transposed: bool = False) -> CountFn:
    def count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
        k = prod(pair(p["kernel_size"], nd))
        cin, cout, g = p["in_channels"], p["out_channels"], p["groups"]
        n = cin * (cout // g) * k + (cout if p["bias"] else 0)
        # torch.utils.flop_counter: 2 * batch * prod(spatial) * prod(kernel) * c_out * c_in/groups,
        # with the input's spatial size for transposed convolutions and the output's otherwise.
        space = prod((ins[0] if transposed else outs[0])[2:])
        batch = ins[0][0]
        if transposed:
            flops = 2 * batch * space * k * cin * (cout // g)
        else:
            flops = 2 * batch * space * k * cout * (cin // g)
        return n, flops
    return count


def _conv(nd: int, doc: str, aliases: tuple[str, ...] = ()) -> NodeSpec:
    name = f"Conv{nd}d"
    return NodeSpec(name, CONV, doc, params=_conv_params(nd), module=f"nn.{name}",
                    resolve=_conv_resolve(name, nd), shape=_conv_shape(name, nd),
                    count=_conv_count(nd), aliases=("convolution", *aliases))


def _pool_params(nd: int, kind: str) -> tuple[Param, ...]:
    ps = [
        Param("kernel_size", "ints", REQUIRED, "window size", min=1, max=1024, length=nd, positional=True),
        Param("stride", "ints", None, "step (default: kernel_size)", min=1, max=1024, length=nd, nullable=True),
        Param("padding", "ints", 0, "implicit padding (at most half the kernel)", min=0, max=512, length=nd),
        Param("ceil_mode", "bool", False, "round output size up instead of down"),
    ]
    if kind == "max":
        ps.append(Param("dilation", "ints", 1, "spacing between window elements", min=1, max=1024, length=nd))
    else:
        ps.append(Param("count_include_pad", "bool", True, "count padding zeros in the average"))
    return tuple(ps)


def _pool(type_name: str, nd: int, kind: str, doc: str) -> NodeSpec:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        shape = ins[0]
        if len(shape) != nd + 2:
            raise ShapeError(f"{type_name} expects {_LAYOUT[nd]}, gets {fmt_shape(shape)}")
        ks, ps = pair(params["kernel_size"], nd), pair(params["padding"], nd)
        if any(p > k // 2 for p, k in zip(ps, ks)):
            raise ShapeError(f"{type_name}: padding {params['padding']} must be at most half the kernel "
                             f"{params['kernel_size']}", "padding")
        return params

    def shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
        out = spatial(type_name, ins[0], nd, params)
        return [(*ins[0][:2], *out)]

    return NodeSpec(type_name, POOL, doc, params=_pool_params(nd, kind), module=f"nn.{type_name}",
                    resolve=resolve, shape=shape, count=lambda p, i, o: (0, 0),
                    aliases=("downsample", "pool", "subsample"))


def _adaptive(type_name: str, nd: int, doc: str,
              aliases: tuple[str, ...] = ("global average pooling", "gap")) -> NodeSpec:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        if len(ins[0]) != nd + 2:
            raise ShapeError(f"{type_name} expects {_LAYOUT[nd]}, gets {fmt_shape(ins[0])}")
        return params

    return NodeSpec(
        type_name, POOL, doc,
        params=(Param("output_size", "ints", 1, "output spatial size", min=1, max=1 << 16,
                      length=nd, positional=True, always=True),),
        module=f"nn.{type_name}", resolve=resolve,
        shape=lambda p, ins: [(*ins[0][:2], *pair(p["output_size"], nd))],
        count=lambda p, i, o: (0, 0), aliases=aliases,
    )


def _upsample_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    shape, mode = ins[0], params["mode"]
    need = {"linear": 3, "bilinear": 4, "bicubic": 4}.get(mode)
    if need and len(shape) != need:
        raise ShapeError(f"Upsample: mode '{mode}' needs a {need}-D input, gets {fmt_shape(shape)}", "mode")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"Upsample expects [B, C, L], [B, C, H, W] or [B, C, D, H, W], "
                         f"gets {fmt_shape(shape)}")
    size, scale = params.get("size"), params.get("scale_factor")
    if (size is None) == (scale is None):
        raise ShapeError("Upsample: give scale_factor or size, not both (clear scale_factor to resize "
                         "to a fixed size)", "size" if size is not None else "scale_factor")
    if isinstance(size, tuple) and len(size) != len(shape) - 2:
        raise ShapeError(f"Upsample: size {list(size)} has {len(size)} entries; {fmt_shape(shape)} has "
                         f"{len(shape) - 2} spatial dims", "size")
    if params.get("align_corners") is not None and mode == "nearest":
        raise ShapeError("Upsample: align_corners works with the linear, bilinear and bicubic modes only",
                         "align_corners")
    return params


def _upsample_init(p: dict[str, Any]) -> str:
    skip = ("scale_factor",) if p.get("size") is not None else ("size",)
    return call_expr("nn.Upsample", _UPSAMPLE_PARAMS, p, skip=skip)


def _upsample_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    if params.get("size") is not None:
        return [(*ins[0][:2], *pair(params["size"], len(ins[0]) - 2))]
    f = params["scale_factor"]
    # torch: floor(size * scale_factor), computed in double precision as here.
    out = [int(d * f) for d in ins[0][2:]]
    if any(o > MAX_SIZE for o in out):
        raise ShapeError(f"Upsample: scale_factor={f} makes {fmt_shape(ins[0])} too large", "scale_factor")
    if any(o < 1 for o in out):
        raise ShapeError(f"Upsample: scale_factor={f} shrinks {fmt_shape(ins[0])} to nothing", "scale_factor")
    return [(*ins[0][:2], *out)]


_UPSAMPLE_PARAMS = (
    Param("scale_factor", "float", 2.0, "size multiplier (empty when resizing to size)", min=0.01, max=64.0,
          always=True, nullable=True),
    Param("mode", "choice", "nearest", "interpolation", choices=("nearest", "linear", "bilinear", "bicubic")),
    Param("size", "ints", None, "output spatial size, instead of scale_factor", min=1, max=1 << 16,
          nullable=True),
    Param("align_corners", "bool", None, "align the corner pixels (linear modes only; empty: torch's default)",
          nullable=True),
)

SPECS = [
    _conv(1, "1-D convolution over [B, C, L] (sequences, signals)."),
    _conv(2, "2-D convolution over [B, C, H, W] images. groups=in_channels makes it depthwise.",
          aliases=("depthwise", "separable", "cnn")),
    NodeSpec(
        "ConvTranspose2d", CONV, "Transposed 2-D convolution: learned upsampling.",
        params=_conv_params(2, transposed=True), module="nn.ConvTranspose2d",
        resolve=_conv_resolve("ConvTranspose2d", 2), shape=_conv_shape("ConvTranspose2d", 2, True),
        count=_conv_count(2, True), aliases=("deconvolution", "upsample", "upconv"),
    ),
    _pool("MaxPool1d", 1, "max", "Max over sliding windows of a [B, C, L] sequence."),
    _pool("MaxPool2d", 2, "max", "Max over sliding windows of a [B, C, H, W] image."),
    _pool("AvgPool2d", 2, "avg", "Average over sliding windows of a [B, C, H, W] image."),
    _adaptive("AdaptiveAvgPool1d", 1, "Averages a [B, C, L] sequence down to output_size."),
    _adaptive("AdaptiveAvgPool2d", 2, "Averages a [B, C, H, W] image down to output_size (1 = global)."),
    _adaptive("AdaptiveMaxPool1d", 1, "Max over windows that shrink a [B, C, L] sequence to output_size.",
              aliases=("global max pooling",)),
    _adaptive("AdaptiveMaxPool2d", 2, "Max over windows that shrink a [B, C, H, W] image to output_size "
              "(1 = global max).", aliases=("global max pooling",)),
    NodeSpec(
        "Upsample", POOL, "Resizes [B, C, ...] by scale_factor, or to a fixed size (nearest or interpolated).",
        params=_UPSAMPLE_PARAMS, module="nn.Upsample", init=_upsample_init, resolve=_upsample_resolve,
        shape=_upsample_shape,
        count=lambda p, i, o: (0, 0), aliases=("resize", "interpolate"),
    ),
]
