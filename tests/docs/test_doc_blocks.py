"""The block extractor and the static checks the docs tests rely on: they must be able to fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.doc_blocks import (
    Marker,
    blocks_of,
    console_commands,
    console_labels,
    parse_markers,
    python_prelude,
    shell_commands,
)
from tests.docs.test_docs_run import static_problems

DOC = """# Title

<!-- docs: no-run (needs pulumi CLI) -->
```bash
pulumi up -s prod
```

```sh exit 1
servestack check -s prod
```

- a list item:
  <!-- docs: no-run (needs the AWS CLI) -->
  ```sh
  aws sts get-caller-identity
  ```

```python
x = 1
```

```python new-session
y = 2
```

```python
print(y)
```

```yaml
a: 1
```
"""


def test_markers_come_from_the_comment_and_the_info_string() -> None:
    blocks = blocks_of(Path("doc.md"), DOC)
    assert [(b.line, b.lang) for b in blocks] == [
        (4, "sh"), (8, "sh"), (14, "sh"), (18, "python"), (22, "python"), (26, "python"), (30, "yaml")
    ]
    assert blocks[0].markers == (Marker("no-run", "needs pulumi CLI"),) and not blocks[0].runs
    assert blocks[1].expected_exit == 1 and blocks[1].runs
    assert blocks[2].code == "aws sts get-caller-identity\n" and not blocks[2].runs  # indented fence, marked
    assert not blocks[6].runs
    assert blocks[2].where == "doc.md:14"


def test_python_blocks_continue_the_file_back_to_a_new_session() -> None:
    blocks = blocks_of(Path("doc.md"), DOC)
    assert python_prelude(blocks, blocks[3]) == []
    assert python_prelude(blocks, blocks[4]) == []
    assert python_prelude(blocks, blocks[5]) == [blocks[4]]


@pytest.mark.parametrize("text", ["no-run (x), bogus", "exit 1 2", "(reason)"])
def test_an_unknown_or_garbled_marker_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        parse_markers(text)


def test_commands_join_continuations_and_drop_comments_and_output() -> None:
    assert shell_commands("# note\nservestack plan a \\\n  --top 3\n\n") == ["servestack plan a    --top 3"]
    assert console_commands("$ servestack check \\\n  -s prod\nok\n$ echo hi\nhi\n") == [
        "servestack check  -s prod", "echo hi"
    ]


def test_static_check_finds_unknown_flags_keys_and_files() -> None:
    (block,) = blocks_of(Path("doc.md"), (
        "```sh no-run (example)\n"
        "servestack plan examples/chat-70b.yaml --wirte | jq .chosen\n"
        "pulumi config set servestack:budgetUsd 100 -s prod\n"
        "servestack check -s prod --policy-config policies/missing.config.json\n"
        "```\n"
    ))
    problems = static_problems(block)
    assert any("--wirte" in p for p in problems), problems
    assert any("servestack:budgetUsd" in p for p in problems), problems
    assert any("policies/missing.config.json does not exist" in p for p in problems), problems
    assert len(problems) == 3, problems


def test_static_check_accepts_what_exists() -> None:
    (block,) = blocks_of(Path("doc.md"), (
        "```sh no-run (example)\n"
        "servestack plan examples/chat-70b.yaml --env prod --write --api-cidr 203.0.113.0/24\n"
        "pulumi config set servestack:commitmentPurchased true -s prod\n"
        "```\n"
    ))
    assert static_problems(block) == []


def test_static_check_of_python_names_missing_imports() -> None:
    (block,) = blocks_of(Path("doc.md"), "```python no-run (sketch)\nfrom servestack.sizing import estimat\n```\n")
    assert static_problems(block) == ["servestack.sizing has no estimat"]


def test_console_labels_are_the_labelled_output_lines() -> None:
    code = "$ servestack plan x.yaml\n # │ where\nchosen: aws\nrejected: a 1\nerror: bad: worse\n"
    assert console_labels(code) == ["chosen", "rejected", "error"]


def test_needs_and_config_take_their_arguments_in_parentheses() -> None:
    assert parse_markers("needs (jq kubectl), exit 2") == (Marker("needs", "jq kubectl"), Marker("exit", "2"))
    assert parse_markers("pulumi-program, config (aws:region=us-west-2 p:size=3)") == (
        Marker("pulumi-program"), Marker("config", "aws:region=us-west-2 p:size=3")
    )
