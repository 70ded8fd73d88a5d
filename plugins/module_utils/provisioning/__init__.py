# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DreamFactory Enterprise's provisioning (DESIGN.md "Provisioning"): provisioners made of
sub-provisioners (instance, storage, database) chosen by configuration, and the provision manager's
four services: provision, deprovision, export, import."""
