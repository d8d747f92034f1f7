"""Reading a data file a deployment edits (the language registry, the helplines): YAML checked
against its model, every problem said in one line with the place it is at."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

Model = TypeVar("Model", bound=BaseModel)


def read_checked(path: Path, model: type[Model], error: type[Exception], what: str) -> Model:
    """The file as `model`; `error` naming the file (and `what` it is, when it is missing)."""
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} is missing") from None
    except YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from None
    try:
        return model.model_validate(document)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
            for problem in invalid.errors()
        )
        raise error(f"{path}: {problems}") from None
