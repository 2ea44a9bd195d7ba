# A console socket as conmon holds one: receive the terminal's master over
# SCM_RIGHTS, type a line into it, and keep what the container writes.
#   python3 console_receiver.py SOCKET OUTPUT   (SOCKET.ready appears once it listens)
import socket, sys, os, array
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path); s.listen(1)
open(path + ".ready", "w").close()
c, _ = s.accept()
fds = array.array("i")
msg, anc, flags, addr = c.recvmsg(1, socket.CMSG_LEN(4))
for level, typ, data in anc:
    fds.frombytes(data[:4])
m = fds[0]
os.write(m, b"typed\n")
data = b""
while True:
    try:
        chunk = os.read(m, 1024)
    except OSError:
        break
    if not chunk: break
    data += chunk
with open(out + ".tmp", "wb") as f:
    f.write(data)
os.rename(out + ".tmp", out)  # whole, once there: the spec waits for it to appear
