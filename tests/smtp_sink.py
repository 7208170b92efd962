"""A local SMTP server that keeps the messages it receives, for the tests
that follow e-mailed links (the portal's sign-up validation)."""
import email
import email.policy
import re
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    "The messages received, as email.message.EmailMessage"

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return '250 OK'

    def wait_for(self, to, timeout=30):
        "The last message sent to ``to``, waiting up to ``timeout`` seconds"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.messages
                    if to.lower() in str(m['To']).lower()]
            if found:
                return found[-1]
            time.sleep(0.2)
        raise AssertionError(f"no e-mail to {to} within {timeout} s")

    @staticmethod
    def links(message):
        "The http(s) links of a message's text and HTML parts"
        urls = []
        for part in message.walk():
            if part.get_content_maintype() == 'text':
                urls += re.findall(
                    r'https?://[^\s"<>\']+', part.get_content())
        return [u.replace('&amp;', '&') for u in urls]


def start(port):
    "Start a sink on 127.0.0.1:port; return (sink, controller)"
    sink = Sink()
    controller = Controller(sink, hostname='127.0.0.1', port=port)
    controller.start()
    return sink, controller


def main():
    """``make run``: print the e-mails the demo server sends (sign-up
    validation, password reset, order confirmation) with their links"""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--port', type=int, default=8025)
    args = parser.parse_args()

    class Printer(Sink):
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(
                envelope.content, policy=email.policy.default)
            print(f"\n=== E-mail à {message['To']} : {message['Subject']}")
            for link in self.links(message):
                print(f"    lien : {link}")
            print(flush=True)
            return '250 OK'

    controller = Controller(Printer(), hostname='127.0.0.1', port=args.port)
    controller.start()
    print(f"Serveur SMTP de démonstration sur 127.0.0.1:{args.port} : "
        "les e-mails s'affichent ici", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == '__main__':
    main()
