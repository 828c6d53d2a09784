"""Checks the generated Swift as far as a machine without a Swift compiler can: every file
parses with tree-sitter-swift, and the public API a Swift app starts with is there.

usage: python check_swift.py <folder with Sotto.swift>

Two constructs UniFFI emits are valid Swift that this grammar does not know, and are
neutralised before parsing (nothing else is): the attribute
`@_documentation(visibility: private)` and the empty closure `{ () }`."""

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


def main(folder: Path) -> int:
    source = (folder / "Sotto.swift").read_text()
    errors = syntax_errors(source)
    # UniFFI's Swift is not formatted here (no swift-format): compare without whitespace.
    squeezed = "".join(source.split())
    missing = [api for api in PUBLIC_API if "".join(api.split()) not in squeezed]
    for error in errors:
        print(f"Sotto.swift {error}", file=sys.stderr)
    for api in missing:
        print(f"Sotto.swift lacks: {api}", file=sys.stderr)
    if errors or missing:
        return 1
    print(f"swift: Sotto.swift parses ({len(source.splitlines())} lines) and has the public API")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
