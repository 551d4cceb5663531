#!/bin/sh
# setup.sh NAME DIR: the files experiment NAME expects in its working directory
# before it runs (the same for chaos run and faultline run). DIR/bin comes first
# in the run's PATH.
set -eu
cd "$2"
case "$1" in
file-removed-deviates | hypothesis-before-only) touch dummy.txt ;;
lang-file) echo "welcome=hello" >default.locale.txt ;;
refs-and-extras) touch marker ;;
quotes-*)
	# The quote services of chrisp777/chaostoolkit-example, run by pm2: here a
	# service is up while NAME.up exists (server.py's /exists, which
	# STORAGE_URL and RETRIEVAL_URL name), and pm2 is a stand-in that stops
	# and restarts them and logs what it was asked (real-pm2.sh runs them
	# under the real pm2, by hand: pm2 is on npm, not in Debian).
	touch STORAGE.up RETRIEVAL.up
	mkdir bin
	cat >bin/pm2 <<'PM2'
#!/bin/sh
echo "pm2 $*" >>pm2.log
case "$1" in
stop) rm -f "$2.up" ;;
restart) eval "name=\${$#}" && touch "$name.up" ;;
esac
PM2
	chmod +x bin/pm2
	# the storage process that quotes-process-kill sends SIGHUP to
	if [ "$1" = quotes-process-kill ]; then
		sleep 120 </dev/null >/dev/null 2>&1 &
		echo $! >STORAGE.pid
	fi
	;;
esac
