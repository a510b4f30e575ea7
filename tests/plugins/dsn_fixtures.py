"""Delivery status notifications (RFC 3464) as real mail systems write them, around a message
the outbox really sent: Postfix's bounce (the whole message returned) and delay warning (its
headers only), Exchange Online's non-delivery report (an HTML and text explanation, the headers
returned) and a relay's "delivered" success notice. Each returns the DSN's bytes (CRLF)."""

from email import message_from_bytes
from email import policy


def _headers_of(original):
    """Return the header block of ``original`` (bytes), as a returned-headers part holds it."""
    head, _, _ = original.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.decode("ascii", "replace")


def _crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def postfix_bounce(original, recipient, return_path, queue_id="3F2A1C0B7E", code="5.1.1"):
    """Postfix 3.x: "Undelivered Mail Returned to Sender", the message returned whole."""
    message_body = original.replace(b"\r\n", b"\n").decode("utf-8", "replace")
    boundary = f"{queue_id}.1796599798/mx1.example.org"
    return _crlf(
        f"""Return-Path: <>
Received: by mx1.example.org (Postfix)
\tid {queue_id}; Sat,  5 Dec 2026 21:30:00 +0000 (UTC)
Date: Sat,  5 Dec 2026 21:30:00 +0000 (UTC)
From: MAILER-DAEMON@mx1.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20261205213000.{queue_id}@mx1.example.org>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx1.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{recipient}>: host mx2.example.org[192.0.2.25] said: 550 {code}
    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.org
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {return_path}
Arrival-Date: Sat,  5 Dec 2026 21:29:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {code}
Remote-MTA: dns; mx2.example.org
Diagnostic-Code: smtp; 550 {code} <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

{message_body}
--{boundary}--
"""
    )


def postfix_delay(original, recipient, return_path, queue_id="7C1D2E3F4A"):
    """Postfix 3.x: "Delayed Mail (still being retried)", the headers returned."""
    boundary = f"{queue_id}.1796603400/mx1.example.org"
    return _crlf(
        f"""Return-Path: <>
Date: Sat,  5 Dec 2026 22:30:00 +0000 (UTC)
From: MAILER-DAEMON@mx1.example.org (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20261205223000.{queue_id}@mx1.example.org>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx1.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 1 hour(s).
It will be retried until it is 5 day(s) old.

<{recipient}>: connect to mx2.example.org[192.0.2.25]:25: Connection timed out

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.org
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {return_path}
Arrival-Date: Sat,  5 Dec 2026 21:29:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx2.example.org[192.0.2.25]:25: Connection
    timed out
Will-Retry-Until: Thu, 10 Dec 2026 21:29:58 +0000 (UTC)

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{_headers_of(original)}

--{boundary}--
"""
    )


def exchange_ndr(original, recipient, return_path, code="5.1.10"):
    """Exchange Online: "Undeliverable: …", an HTML and text explanation, headers returned."""
    subject = message_from_bytes(original, policy=policy.default)["Subject"]
    outer, inner = "_000_AM0PR01MB12345ABCDEFGHIJ_", "_001_AM0PR01MB12345ABCDEFGHIJ_"
    return _crlf(
        f"""Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com
 by AM0PR01MB1234.eurprd01.prod.exchangelabs.com with Microsoft SMTP Server;
 Sat, 5 Dec 2026 21:30:05 +0000
MIME-Version: 1.0
From: postmaster@contoso.example
To: {return_path}
Date: Sat, 5 Dec 2026 21:30:05 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{outer}"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <d7b3a1f0-5c2e-4f8a-9b61-0a1b2c3d4e5f@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: {message_from_bytes(original, policy=policy.default)["Message-ID"]}
Subject: Undeliverable: {subject}
Auto-Submitted: auto-replied

--{outer}
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="{inner}"

--{inner}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {recipient} couldn't be delivered.
The email address wasn't found at the destination domain. It might be misspelled or it might
not exist.
Diagnostic information for administrators:
Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com
{recipient}
Remote Server returned '550 {code} RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
address lookup'

--{inner}
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><head></head><body><p>Your message to {recipient} couldn't be delivered.</p>
<p>The email address wasn't found at the destination domain.</p></body></html>

--{inner}--

--{outer}
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.activity-stream.test
Arrival-Date: Sat, 5 Dec 2026 21:30:04 +0000

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: {code}
Diagnostic-Code: smtp;550 {code} RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
 address lookup
X-Display-Name: {recipient}

--{outer}
Content-Type: text/rfc822-headers

{_headers_of(original)}

--{outer}--
"""
    )


def relay_delivered(original, recipient, return_path):
    """A success notice (``NOTIFY=SUCCESS``): "Successful Mail Delivery Report"."""
    boundary = "5E6F7A8B9C.1796599900/mx1.example.org"
    return _crlf(
        f"""Date: Sat,  5 Dec 2026 21:31:40 +0000 (UTC)
From: MAILER-DAEMON@mx1.example.org (Mail Delivery System)
Subject: Successful Mail Delivery Report
To: {return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Message-Id: <20261205213140.5E6F7A8B9C@mx1.example.org>

--{boundary}
Content-Type: text/plain; charset=us-ascii

Your message was successfully delivered to the destination(s) listed below.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.org
Arrival-Date: Sat,  5 Dec 2026 21:31:38 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Action: delivered
Status: 2.0.0
Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 1A2B3C4D5E

--{boundary}
Content-Type: text/rfc822-headers

{_headers_of(original)}

--{boundary}--
"""
    )


def out_of_office(return_path):
    """An auto-reply that reached the return path: no report at all."""
    return _crlf(
        f"""From: Dana Scully <teammate@example.com>
To: {return_path}
Subject: Automatic reply: out of the office
Date: Sat, 5 Dec 2026 21:40:00 +0000
Message-ID: <ooo-1@example.com>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

I am away until Monday.
"""
    )


def report_without_original(return_path):
    """A delivery-status report that names no message of ours (nothing returned)."""
    boundary = "nothing-returned"
    return _crlf(
        f"""From: MAILER-DAEMON@mx9.example.org
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Date: Sat, 5 Dec 2026 21:41:00 +0000
Message-Id: <nothing-returned@mx9.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain

Something failed.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx9.example.org

Final-Recipient: rfc822; someone@example.org
Action: failed
Status: 5.0.0

--{boundary}--
"""
    )
