"""Zero-argument factories (`netwright import models.zoo:NAME`) for the import tests:
the real model classes, most in small configurations so tests stay fast, and the
full-size builders for parameter counts on the meta device."""
from __future__ import annotations

from torch import nn

from . import (
    convnext,
    densenet,
    efficientnet,
    gpt,
    mobilenetv2,
    mobilenetv3,
    resnet,
    shufflenetv2,
    squeezenet,
    vgg,
    vision_transformer,
)


def resnet18() -> nn.Module:
    return resnet.resnet18(num_classes=10)


def resnet50() -> nn.Module:
    return resnet.resnet50(num_classes=10)


def vgg11_bn() -> nn.Module:
    return vgg.vgg11_bn(num_classes=10)


def vgg_small() -> nn.Module:
    """VGG's class with a short feature stack (its classifier is fixed at 512 * 7 * 7 -> 4096)."""
    return vgg.VGG(vgg.make_layers([8, "M", 512, "M"], batch_norm=True), num_classes=10)


def squeezenet1_1() -> nn.Module:
    return squeezenet.squeezenet1_1(num_classes=10)


def mobilenet_v2() -> nn.Module:
    return mobilenetv2.mobilenet_v2(num_classes=10, width_mult=0.25)


def mobilenet_v3_small() -> nn.Module:
    return mobilenetv3.mobilenet_v3_small(num_classes=10)


def efficientnet_b0() -> nn.Module:
    return efficientnet.efficientnet_b0(num_classes=10)


def efficientnet_small() -> nn.Module:
    """EfficientNet-B0's layer table scaled down with torchvision's own width and depth knobs."""
    setting, last_channel = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.34)
    return efficientnet.EfficientNet(setting, 0.2, last_channel=last_channel, num_classes=10)


def densenet_small() -> nn.Module:
    return densenet.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, num_classes=10)


def densenet121() -> nn.Module:
    return densenet.densenet121(num_classes=10)


def shufflenet_v2() -> nn.Module:
    return shufflenetv2.ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10)


def vit_small() -> nn.Module:
    return vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                hidden_dim=16, mlp_dim=32, num_classes=10)


def convnext_small() -> nn.Module:
    return convnext.ConvNeXt([convnext.CNBlockConfig(8, 16, 1), convnext.CNBlockConfig(16, None, 2)],
                             num_classes=10)


def gpt_tiny() -> nn.Module:
    return gpt.gpt_tiny()


def gpt_tiny_masked() -> nn.Module:
    """The explicit masked-softmax attention and nanoGPT's new_gelu."""
    return gpt.gpt_tiny(flash=False, tanh_gelu=True)
