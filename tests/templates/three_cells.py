"""Writes the hub template as deployed with three cells (Cells=b,c beside the first, with the
domain cells need) to the path given, so cfn-lint and `sam validate --lint` check the cells'
Fn::ForEach loops as they expand, not only as they expand for no cells (issue 23).

Usage: three_cells.py OUT.yaml
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each default as the template writes it, and as three cells need it.
DEFAULTS = [
    ('  Cells:\n    Type: CommaDelimitedList\n    Default: ""\n',
     '  Cells:\n    Type: CommaDelimitedList\n    Default: "b,c"\n'),
    ('  DomainName:\n    Type: String\n    Default: ""\n',
     '  DomainName:\n    Type: String\n    Default: "api.example.com"\n'),
    ('  CertificateArn:\n    Type: String\n    Default: ""\n',
     '  CertificateArn:\n    Type: String\n'
     '    Default: "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"\n'),
]


def main():
    text = (ROOT / "template.yaml").read_text()
    for old, new in DEFAULTS:
        if text.count(old) != 1:
            sys.exit(f"template.yaml no longer declares this default once: {old!r}")
        text = text.replace(old, new)
    Path(sys.argv[1]).write_text(text)


if __name__ == "__main__":
    main()
