#!/usr/bin/python3
"""A notification server that supports KDE Plasma's inline reply, for the
notifier's test: dunst (the real server of the other tests) has no inline
reply, and Plasma needs a whole desktop. It implements what the notifier
uses of org.freedesktop.Notifications (GetCapabilities with "inline-reply",
GetServerInformation, Notify, CloseNotification) on the session bus named by
DBUS_SESSION_BUS_ADDRESS, prints each Notify as one JSON line (actions and
string hints included), and on the stdin line "reply ID TEXT" emits
NotificationReplied(ID, TEXT), as Plasma does when the user sends a reply.
Needs python3-gi (Debian).
"""

import json
import sys
import threading

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
    <signal name="NotificationReplied"><arg type="u"/><arg type="s"/></signal>
  </interface>
</node>
"""
PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"
state = {"next": 1, "bus": None}


def say(obj):
    print(json.dumps(obj), flush=True)


def on_call(bus, sender, path, iface, method, params, invocation):
    if method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["actions", "body", "inline-reply"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("inline-test", "parley", "1", "1.2")))
    elif method == "Notify":
        app, replaces, icon, summary, body, actions, hints, timeout = params.unpack()
        nid = replaces or state["next"]
        if not replaces:
            state["next"] += 1
        say({"notify": nid, "summary": summary, "body": body, "actions": actions,
             "hints": {k: v for k, v in hints.items() if isinstance(v, str)}})
        invocation.return_value(GLib.Variant("(u)", (nid,)))
    elif method == "CloseNotification":
        (nid,) = params.unpack()
        say({"closed": nid})
        bus.emit_signal(None, PATH, IFACE, "NotificationClosed", GLib.Variant("(uu)", (nid, 3)))
        invocation.return_value(None)


def read_commands(loop):
    for line in sys.stdin:
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3 and parts[0] == "reply":
            nid, text = int(parts[1]), parts[2]
            GLib.idle_add(lambda: state["bus"].emit_signal(None, PATH, IFACE, "NotificationReplied",
                                                           GLib.Variant("(us)", (nid, text))) and False)
    GLib.idle_add(loop.quit)


def main():
    loop = GLib.MainLoop()
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    state["bus"] = bus
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    bus.register_object(PATH, node.interfaces[0], on_call, None, None)

    def acquired(*_):
        say({"ready": True})

    Gio.bus_own_name_on_connection(bus, IFACE, Gio.BusNameOwnerFlags.NONE, acquired, None)
    threading.Thread(target=read_commands, args=(loop,), daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()
