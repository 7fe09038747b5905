# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import os
import pwd
import re
import time
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.gpufleet.triton.plugins.plugin_utils._action_args import controller_path, task_args

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template

    def trust_as_template(value):
        return value


MODULE = "gpufleet.triton.file_set"
MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
SOURCES = ("template", "content", "src")
DIR_KEYS = ("path", "mode", "owner", "group")
FILE_KEYS = ("path", "mode", "owner", "group", "backup", "vars", *SOURCES)
# ansible.builtin.template's defaults for the Jinja environment.
TEMPLATE_OVERRIDES = dict(trim_blocks=True, lstrip_blocks=False, newline_sequence="\n")


def template_vars(name, fullpath, dest, include_ansible_managed):
    """The variables ansible.builtin.template sets for a template (ansible-core 2.19 keeps this helper internal)."""
    st = os.stat(fullpath)
    try:
        uid = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        uid = st.st_uid
    found = dict(
        template_host=os.uname()[1],
        template_path=name,
        template_mtime=datetime.datetime.fromtimestamp(st.st_mtime),
        template_uid=uid,
        template_run_date=datetime.datetime.now(),
        template_destpath=dest,
        template_fullpath=fullpath,
    )
    if include_ansible_managed:
        managed = C.config.get_config_value("DEFAULT_MANAGED_STR").format(
            host="{{ template_host }}", uid="{{ template_uid }}", file="{{ template_path }}"
        )
        found["ansible_managed"] = trust_as_template(time.strftime(managed, time.localtime(st.st_mtime)))
    return found


def read_text(loader, path):
    """A controller file's text through the loader (which decrypts vaulted files)."""
    if hasattr(loader, "get_text_file_contents"):
        return loader.get_text_file_contents(path)
    b_data, _show = loader._get_file_contents(path)  # ansible-core < 2.19
    return to_text(b_data, errors="surrogate_or_strict")


def kind(value):
    """The plain type name of a task value (2.19 hands over tagged subclasses of str, int, dict, list)."""
    for base, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (Mapping, "dict"), (list, "list")):
        if isinstance(value, base):
            return name
    return type(value).__name__


def check_item(label, item, keys):
    """The shape of one item of directories or files (the same rules the module applies on the node)."""
    if not isinstance(item, Mapping):
        raise AnsibleActionFail("%s must be a dictionary, got %s" % (label, kind(item)))
    path = item.get("path")
    if not isinstance(path, str) or not path:
        raise AnsibleActionFail("%s: path is required" % label)
    label = "%s (%s)" % (label, path)
    unknown = sorted(str(k) for k in item if k not in keys)
    if unknown:
        raise AnsibleActionFail("%s: unknown keys %s (known: %s)" % (label, ", ".join(unknown), ", ".join(keys)))
    if not os.path.isabs(path):
        raise AnsibleActionFail("%s: path must be absolute" % label)
    mode = item.get("mode")
    if not isinstance(mode, str) or not MODE_RE.match(mode):
        raise AnsibleActionFail(
            '%s: mode must be an octal string such as "0644" (quoted in YAML), got %r (%s)' % (label, mode, kind(mode))
        )
    for name in ("owner", "group"):
        value = item.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            raise AnsibleActionFail("%s: %s must be a name or a numeric id, got %r" % (label, name, value))
    return label


def checked_dirs(directories):
    if directories is None:
        return []
    if not isinstance(directories, list):
        raise AnsibleActionFail("directories must be a list, got %s" % kind(directories))
    found = []
    for index, item in enumerate(directories):
        check_item("directories[%d]" % index, item, DIR_KEYS)
        found.append(own_ids({k: item[k] for k in DIR_KEYS if item.get(k) is not None}))
    return found


def checked_files(files):
    if not isinstance(files, list):
        raise AnsibleActionFail("files must be a list, got %s" % kind(files))
    seen = {}
    for index, item in enumerate(files):
        label = check_item("files[%d]" % index, item, FILE_KEYS)
        given = [name for name in SOURCES if item.get(name) is not None]
        if len(given) != 1:
            raise AnsibleActionFail("%s: give exactly one of template, content, src" % label)
        source = given[0]
        if not isinstance(item[source], str) or (source != "content" and not item[source]):
            raise AnsibleActionFail("%s: %s must be a string" % (label, source))
        if item.get("vars") is not None:
            if source != "template":
                raise AnsibleActionFail("%s: vars is only for template" % label)
            if not isinstance(item["vars"], Mapping):
                raise AnsibleActionFail("%s: vars must be a dictionary" % label)
        try:
            item_backup(item)
        except TypeError:
            raise AnsibleActionFail("%s: backup must be a boolean, got %r" % (label, item["backup"])) from None
        norm = os.path.normpath(item["path"])
        if norm in seen:
            raise AnsibleActionFail("%s: the same path as %s" % (label, seen[norm]))
        seen[norm] = "files[%d]" % index
    return files


def item_backup(item):
    value = item.get("backup")
    return False if value is None else boolean(value, strict=True)


def own_ids(item):
    """owner/group as strings: YAML gives numeric ids as integers."""
    for name in ("owner", "group"):
        if item.get(name) is not None:
            item[name] = str(item[name])
    return item


class ActionModule(ActionBase):
    # Contents travel inside the module's arguments: nothing to transfer besides the module.
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            args = task_args(self, internal=("_contents",), required=("files",))
            unknown = sorted(set(args) - {"directories", "files"})
            if unknown:
                raise AnsibleActionFail("unknown options %s (known: directories, files)" % ", ".join(unknown))
            directories = checked_dirs(args.get("directories"))
            files = checked_files(args["files"])
            # Every item is checked before any template is rendered, and all are rendered before the one module call.
            module_files, contents = [], []
            for index, item in enumerate(files):
                label = "files[%d] (%s)" % (index, item["path"])
                contents.append(base64.b64encode(self._content(label, item, task_vars)).decode("ascii"))
                sent = {k: item[k] for k in ("path", "mode", "owner", "group", "template", "src") if k in item}
                sent["backup"] = item_backup(item)
                module_files.append(own_ids({k: v for k, v in sent.items() if v is not None}))
            module_args = dict(directories=directories, files=module_files, _contents=contents)
            result.update(self._execute_module(MODULE, module_args=module_args, task_vars=task_vars))
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _content(self, label, item, task_vars):
        if item.get("content") is not None:
            return to_bytes(item["content"], errors="surrogate_or_strict")
        if item.get("src") is not None:
            try:
                path = controller_path(self, item["src"])
            except AnsibleActionFail as exc:
                raise AnsibleActionFail("%s: %s" % (label, exc)) from None
            try:
                with open(path, "rb") as handle:
                    return handle.read()
            except OSError as exc:
                msg = "%s: src %s cannot be read on the controller: %s" % (label, path, exc.strerror)
                raise AnsibleActionFail(msg) from None
        return to_bytes(self._render(label, item, task_vars), errors="surrogate_or_strict")

    def _render(self, label, item, task_vars):
        """item's template rendered as ansible.builtin.template renders it, with item's vars over the task's."""
        name = item["template"]
        try:
            source = self._find_needle("templates", name)
        except AnsibleError as exc:
            msg = "%s: template %s was not found on the controller: %s" % (label, name, exc)
            raise AnsibleActionFail(msg) from None
        try:
            template_data = trust_as_template(read_text(self._loader, source))
        except AnsibleError as exc:
            raise AnsibleActionFail("%s: template %s cannot be read: %s" % (label, source, exc)) from None

        # The template's folder (and a templates/ folder in each search path) for {% include %} and friends.
        searchpath = list(task_vars.get("ansible_search_path", []))
        searchpath.extend([self._loader._basedir, os.path.dirname(source)])
        newsearchpath = []
        for path in searchpath:
            newsearchpath.append(os.path.join(path, "templates"))
            newsearchpath.append(path)

        item_vars = dict(item.get("vars") or {})
        temp_vars = task_vars.copy()
        temp_vars.update(
            template_vars(
                name, source, item["path"], "ansible_managed" not in temp_vars and "ansible_managed" not in item_vars
            )
        )
        temp_vars.update(item_vars)
        templar = self._templar.copy_with_new_env(searchpath=newsearchpath, available_variables=temp_vars)
        try:
            rendered = templar.template(template_data, escape_backslashes=False, overrides=TEMPLATE_OVERRIDES)
        except AnsibleError as exc:
            raise AnsibleActionFail("%s: template %s: %s" % (label, name, to_text(exc))) from None
        return "" if rendered is None else rendered
