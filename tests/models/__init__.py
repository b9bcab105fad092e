"""Real model definitions for the import tests: torchvision's classification models
(vendored with their BSD licence, see LICENSE-torchvision) and a minimal GPT-2 in the
style of nanoGPT (gpt.py, MIT). Nothing here is downloaded at test time."""
