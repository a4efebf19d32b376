"""Built-in guard policies: pure engines that judge a Bash command or a file access.

- :mod:`lib.guards.shell_parse`: bash command lines -> the simple commands they run; rare features
  load on demand: :mod:`~lib.guards.shell_braces` (brace expansion), :mod:`~lib.guards.shell_wrappers`
  (``sudo``, ``env``, ``timeout``, ``su -c``, ``busybox``, ...), :mod:`~lib.guards.shell_nested` (what
  ``xargs``, ``find -exec``, ``ssh``, ``awk`` and inline interpreter code run); what they share is in
  :mod:`~lib.guards.shell_words` (so none imports another back)
- :mod:`lib.guards.shell_effects`: what those commands read, write and delete
- :mod:`lib.guards.locations`: where a path points (root, system, home, project, temp)
- :mod:`lib.guards.bash_policy`: the Bash command guard (levels, allowlist); the rules and common
  checks are in :mod:`~lib.guards.bash_rules`; rule families load on demand:
  :mod:`~lib.guards.bash_deletes`, :mod:`~lib.guards.bash_git`, :mod:`~lib.guards.bash_system`,
  :mod:`~lib.guards.bash_downloads`, :mod:`~lib.guards.bash_infra` (infrastructure, data stores,
  containers, publishing), :mod:`~lib.guards.bash_evasion` (decoded pipes, exfiltration, computed names)
- :mod:`lib.guards.file_policy`: the protected-path guard for file tools and Bash file access
  (patterns matched by :mod:`lib.guards.glob_match`)
- :mod:`lib.guards.verdict`: rules as data and the verdict they produce

Nothing here does I/O except resolving symlinks in :mod:`lib.guards.file_policy`; the hooks in
``hooks/bash_guard.py`` and ``hooks/file_guard.py`` wire them to Claude Code events (with
:mod:`lib.guards.settings`, :mod:`lib.guards.switch` and :mod:`lib.guards.report`). Importing this
package imports nothing else (hot path).
"""
