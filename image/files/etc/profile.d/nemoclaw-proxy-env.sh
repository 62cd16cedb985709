# Runtime environment of the sandbox (gateway token, NODE_OPTIONS with the preload guards),
# written by the supervisor at every boot.
if [ -r /tmp/nemoclaw-proxy-env.sh ]; then
  . /tmp/nemoclaw-proxy-env.sh
fi
