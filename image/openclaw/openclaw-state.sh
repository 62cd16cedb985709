# OpenClaw keeps its state in $OPENCLAW_STATE_DIR, by default ~/.openclaw: for the sandbox
# user that is the locked config directory, where `openclaw gateway probe` cannot create
# state/. Give non-root shells a state directory of their own unless one is set already.
if [ "$(id -u)" != 0 ] && [ -z "${OPENCLAW_STATE_DIR-}" ]; then
  export OPENCLAW_STATE_DIR="$HOME/.openclaw-state"
fi
