# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``noop``: nothing to do. A root with ``noop`` stands for a machine that exists already."""

from __future__ import annotations

from .base import Installer


class NoopInstaller(Installer):
    name = "noop"
