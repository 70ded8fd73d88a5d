# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Convert a Roboconf application directory into an ``*.app.yml`` file.

    python -m ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert <dir> [-o out.app.yml]

The application is read and fully validated first (errors name the ``.graph``/``.instances``
lines), then written by ``roboconf.convert`` so that the file loads back to the very same document.
``recipes`` paths are rewritten relative to the output file (or to the current directory for
standard output).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import AppGraphError
from ..files import atomic_write
from ..model.loader import application_from_document
from ..roboconf.convert import document_to_yaml, relocate_recipes
from ..roboconf.reader import read_roboconf_application


def convert_application(src: str, output: str | None = None) -> str:
    """The ``*.app.yml`` text of the Roboconf application in ``src``; raise InputError(s) if invalid.

    ``output`` is where the text will be written: ``recipes`` are made relative to its folder.
    """
    return converted(src, output)[1]


def converted(src: str, output: str | None = None) -> tuple:
    """``(application name, *.app.yml text)`` of the Roboconf application in ``src`` (see above)."""
    doc, locate = read_roboconf_application(src)
    application_from_document(doc, locate, source=src, base_dir=src)   # report every error before writing
    doc = relocate_recipes(doc, src, os.path.dirname(os.path.abspath(output)) if output else os.getcwd())
    header = "# Converted from the Roboconf application %s by appgraph.lifecycle's roboconf_convert.\n" % (
        os.path.basename(os.path.normpath(os.path.abspath(src))))
    return doc["application"], header + document_to_yaml(doc)


# -- command line ---------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert",
        description="Convert a Roboconf application directory into an appgraph *.app.yml file.")
    parser.add_argument("src", help="the Roboconf application directory (with descriptor/application.properties)")
    parser.add_argument("-o", "--output", help="the *.app.yml file to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        text = convert_application(args.src, args.output)
    except AppGraphError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    if args.output:
        try:
            atomic_write(args.output, text.encode("utf-8"), mode=0o644)    # the whole file or the old one
        except OSError as exc:
            sys.stderr.write("%s: cannot write: %s\n" % (args.output, exc.strerror))
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
