"""Checks the generated Swift as far as a machine without a Swift compiler can: every file
parses with tree-sitter-swift, and the public API a Swift app starts with is there.

usage: python check_swift.py <folder with Sotto.swift> [<README with a Swift quickstart>]

With a README, its Swift quickstart (the ```swift block after `<!-- quickstart: swift`)
must parse too, and every call and enum case it uses must exist in Sotto.swift: the
nearest this machine comes to running it.

Two constructs UniFFI emits are valid Swift that this grammar does not know, and are
neutralised before parsing (nothing else is): the attribute
`@_documentation(visibility: private)` and the empty closure `{ () }`."""

import re
import sys
from pathlib import Path

import tree_sitter
import tree_sitter_swift

KNOWN_GRAMMAR_GAPS = {"@_documentation(visibility: private)": "", "{ () }": "{ }"}
PUBLIC_API = [
    "open class Messenger",
    "public static func create(",
    "public static func `open`(",
    "func sendText(contact: String, text: String) async throws",
    "func sendImage(",
    "public protocol EventListener",
    "public enum SottoError",
    "public enum ErrorCode",
    "public func invitationQrPng(link: String) throws",
]


def syntax_errors(source: str) -> list:
    for construct, replacement in KNOWN_GRAMMAR_GAPS.items():
        source = source.replace(construct, replacement)
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    tree = parser.parse(source.encode())
    lines = source.splitlines()
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row = node.start_point[0]
            found.append(f"line {row + 1}: {node.type}: {lines[row].strip()[:100]}")
            continue
        stack.extend(node.children)
    return found


# Names a quickstart may use that are Swift's own.
SWIFT_OWN = {"isEmpty", "print"}


def quickstart_problems(readme: Path, source: str) -> list:
    text = readme.read_text()
    marker = text.index("<!-- quickstart: swift")
    block = re.search(r"```swift\n(.*?)```", text[marker:], re.S)
    if not block:
        return ["no ```swift block after the quickstart marker"]
    code = block.group(1)
    problems = [f"quickstart {error}" for error in syntax_errors(code)]
    squeezed = "".join(source.split())
    defined = set(re.findall(r"\bfunc\s+`?(\w+)`?\s*\(", code))
    for name in sorted(set(re.findall(r"\.([a-z]\w*)\s*\(", code)) | set(re.findall(r"\b([a-z]\w*)\(", code))):
        if name in SWIFT_OWN or name in defined:
            continue
        if f"func{name}(" not in squeezed and f"func`{name}`(" not in squeezed and f"case{name}(" not in squeezed:
            problems.append(f"quickstart calls {name}(...), which Sotto.swift lacks")
    for name in sorted(set(re.findall(r"case\s+\.([a-z]\w*)", code)) | set(re.findall(r":\s*\.([a-z]\w*)\b", code))):
        if f"case{name}" not in squeezed:
            problems.append(f"quickstart uses the case .{name}, which Sotto.swift lacks")
    return problems


def main(folder: Path, readme: Path = None) -> int:
    source = (folder / "Sotto.swift").read_text()
    errors = syntax_errors(source)
    if readme is not None:
        errors += quickstart_problems(readme, source)
    # UniFFI's Swift is not formatted here (no swift-format): compare without whitespace.
    squeezed = "".join(source.split())
    missing = [api for api in PUBLIC_API if "".join(api.split()) not in squeezed]
    for error in errors:
        print(f"Sotto.swift {error}", file=sys.stderr)
    for api in missing:
        print(f"Sotto.swift lacks: {api}", file=sys.stderr)
    if errors or missing:
        return 1
    print(f"swift: Sotto.swift parses ({len(source.splitlines())} lines) and has the public API"
          + ("; the README quickstart parses and uses only what exists" if readme else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
