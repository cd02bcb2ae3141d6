"""kombu's filesystem transport (the embedded development broker), made safe to read while it is written.

kombu 5.7 writes a message straight under its final file name, so a worker polling the folder can take
the file before the bytes are in, fail to decode it and drop the message: under load about one message
in fifteen. Writing under a name the worker ignores, then renaming it into place, makes a message
appear whole or not at all.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

UNFINISHED_SUFFIX = ".part"  # the worker only reads names ending in ".<queue>.msg"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's own naming: the time prefix keeps the folder in sending order.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        unfinished = final + UNFINISHED_SUFFIX
        try:
            with open(unfinished, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(unfinished, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class FilesystemTransport(filesystem.Transport):
    Channel = Channel
