"""gunicorn settings for bench/private_files.py: 64 KB socket send buffers, as over a slow path.

On loopback the kernel grows a socket's send buffer to megabytes, so a sync worker hands a 5 MB file to
the kernel and is free long before a slow client has it; over a slow real path the buffer stays near
the path's bandwidth-delay product, tens to hundreds of KB. Accepted sockets inherit the listener's size.
"""

import socket

SEND_BUFFER_BYTES = 64 * 1024


def when_ready(server):
    for listener in server.LISTENERS:
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
