"""The ICD-10 terminologies the coder learns labels from: the kernel's (casewise.terminology), named here too."""

from casewise.terminology import dotted, english_labels, labels, spanish_labels

__all__ = ["dotted", "english_labels", "labels", "spanish_labels"]
