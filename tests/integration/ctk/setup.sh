#!/bin/sh
# setup.sh NAME DIR: the files experiment NAME expects in its working directory
# before it runs (the same for chaos run and faultline run).
set -eu
cd "$2"
case "$1" in
file-removed-deviates | hypothesis-before-only) touch dummy.txt ;;
lang-file) echo "welcome=hello" >default.locale.txt ;;
refs-and-extras) touch marker ;;
esac
