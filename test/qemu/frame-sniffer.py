"""Waits for one Ethernet frame on a host interface: argv[1] the interface, argv[2] the source MAC
to look for, argv[3] seconds to wait. Prints a JSON line {"found": bool, "frames": N, "dhcp": bool}
where dhcp says the frame was a DHCP request (IPv4, UDP 68 -> 67). Needs root (AF_PACKET)."""
import json, select, socket, struct, sys, time

ifname, mac, seconds = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
s.bind((ifname, 0))
print(json.dumps({"listening": True}), flush=True)
end = time.time() + seconds
frames = 0
result = {"found": False, "frames": 0, "dhcp": False}
while time.time() < end:
    r, _, _ = select.select([s], [], [], max(0, end - time.time()))
    if not r:
        break
    frame = s.recv(65536)
    frames += 1
    if frame[6:12] != mac:
        continue
    dhcp = False
    if frame[12:14] == b"\x08\x00":
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] == 17:
            sport, dport = struct.unpack("!HH", frame[14 + ihl:18 + ihl])
            dhcp = (sport, dport) == (68, 67)
    result = {"found": True, "frames": frames, "dhcp": dhcp}
    if dhcp:
        break
result["frames"] = frames
print(json.dumps(result), flush=True)
