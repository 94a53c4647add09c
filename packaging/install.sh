#!/bin/sh
# Install this HemoScope bundle on a Linux workstation; nothing is downloaded.
#
#   sudo ./install.sh            for every user: /opt/HemoScope, /usr/local/bin/hemoscope
#   ./install.sh --user          for you only:   ~/.local/opt/HemoScope, ~/.local/bin/hemoscope
#   ./install.sh --uninstall     (with --user for a per-user installation)
#
# The folder is copied whole; the previous installation, if any, is replaced.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
scope=system
action=install
for arg in "$@"; do
    case "$arg" in
        --user) scope=user ;;
        --uninstall) action=uninstall ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg" >&2; exit 1 ;;
    esac
done

if [ "$scope" = user ]; then
    data=${XDG_DATA_HOME:-$HOME/.local/share}
    prefix=$HOME/.local/opt/HemoScope
    bin=$HOME/.local/bin
else
    data=/usr/share
    prefix=/opt/HemoScope
    bin=/usr/local/bin
fi
apps=$data/applications
icons=$data/icons/hicolor/256x256/apps

if [ "$action" = uninstall ]; then
    rm -rf "$prefix"
    rm -f "$bin/hemoscope" "$apps/hemoscope.desktop" "$icons/hemoscope.png"
    echo "HemoScope removed from $prefix"
    exit 0
fi

[ -x "$here/hemoscope" ] || { echo "install.sh: run it from the HemoScope folder" >&2; exit 1; }
mkdir -p "$(dirname "$prefix")" "$bin" "$apps" "$icons"
if [ "$here" != "$prefix" ]; then
    rm -rf "$prefix.new"
    cp -a "$here" "$prefix.new"
    rm -rf "$prefix"
    mv "$prefix.new" "$prefix"
fi
ln -sf "$prefix/hemoscope" "$bin/hemoscope"
sed "s|^Exec=.*|Exec=$prefix/hemoscope %F|" "$prefix/hemoscope.desktop" > "$apps/hemoscope.desktop"
cp "$prefix/hemoscope.png" "$icons/hemoscope.png"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$data/icons/hicolor" 2>/dev/null || true
echo "HemoScope $("$prefix/hemoscope" --version | cut -d' ' -f2) installed in $prefix"
echo "Start it from the applications menu, or with: $bin/hemoscope"
