# Runtime environment of the sandbox (gateway token, NODE_OPTIONS with the preload guards),
# written by the supervisor at every boot. Sourced by login shells (/etc/profile) and, through
# /etc/bash.bashrc, interactive ones, of every user.
#
# Only a file owned by root, or by the shell's own user, and writable by no one else is
# sourced: a file the sandbox user planted in /tmp is never run by a root shell (docs/threat-model.md,
# attack 3). In non-root mode the supervisor's files belong to the sandbox user, so its own
# shells still get them and root shells source nothing of the sandbox's. The last two mode
# digits (group, other) must not carry the write bit; a symlink is never followed.
case "$(stat -c '%u:%a' -- /tmp/nemoclaw-proxy-env.sh 2>/dev/null)" in
  0:*[0145][0145] | "$(id -u)":*[0145][0145])
    if [ -f /tmp/nemoclaw-proxy-env.sh ] && [ ! -L /tmp/nemoclaw-proxy-env.sh ]; then
      . /tmp/nemoclaw-proxy-env.sh
    fi
    ;;
esac
