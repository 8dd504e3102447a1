/// The MLLP receiver of the end-to-end tests, in Python: python3-hl7 parses every message, so a
/// message our encoder got wrong fails there, not in code of ours. One connection at a time;
/// each frame (`0x0B … 0x1C 0x0D`) is parsed and handed to the test's `on_message(message, text,
/// count, connection)`, which returns the bytes to reply (`count`: messages received by this
/// process, 1-based). Options: `--port`, `--log`, `--close-idle-s` (close a connection that
/// brought nothing for that long, as interface engines with an idle timeout do, and log
/// `{"closed": "idle"}`), and what `arguments` adds.
enum MLLPTestReceiver {
    /// `arguments`: lines adding parser arguments; `handler`: Python defining `on_message`.
    static func script(arguments: String = "", handler: String) -> String {
        """
        import argparse, json, socket, time
        import hl7
        parser = argparse.ArgumentParser()
        parser.add_argument('--port', type=int); parser.add_argument('--log')
        parser.add_argument('--close-idle-s', type=float)
        \(arguments)
        options = parser.parse_args()
        \(handler)
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('127.0.0.1', options.port)); server.listen(1)
        count = 0
        while True:
            connection, _ = server.accept()
            connection.settimeout(options.close_idle_s)
            buffer = b''
            while True:
                try:
                    data = connection.recv(65536)
                except socket.timeout:
                    with open(options.log, 'a') as log: log.write(json.dumps({'closed': 'idle'}) + '\\n')
                    break
                if not data: break
                buffer += data
                while b'\\x1c\\r' in buffer:
                    frame, buffer = buffer.split(b'\\x1c\\r', 1)
                    text = frame[frame.index(b'\\x0b') + 1:].decode()
                    count += 1
                    connection.sendall(on_message(hl7.parse(text), text, count, connection))
            connection.close()
        """
    }
}
