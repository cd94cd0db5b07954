#!/bin/sh
# {{.Package}}: its kubelet drop-in takes effect at the kubelet's next
# (re)start; systemd only has to reread its units.
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
exit 0
