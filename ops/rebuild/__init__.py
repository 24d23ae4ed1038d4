"""Rebuild review's store from the streams alone, and compare it with the live store.

``safeguard review rebuild`` reads the INTAKE and REFERRAL streams, and the REVIEW stream for
review's own entries, from their start to the heads they have when it starts, applies them as
the live service does into a fresh store beside the live one (``var/rebuild/review.sqlite``, or
the PostgreSQL schema ``<prefix>rebuild_review``: never the live store), then compares every
case with the live store.

What "the same" means
---------------------
The live service consumes INTAKE and REFERRAL independently, so the order in which a case's
entries arrived, and with it their numbers, the hashes of its chain and the ``source`` of
review's own entries (``review:<case>:<number>``), may legitimately differ from a rebuild. A
case is the same in both stores when

* it has the same school and reference;
* its entries are the same multiset of (kind, summary, actor, actor_role, occurred_at,
  recorded_at, subject, payload): everything an entry says, but not where it stands;
* the rebuilt chain verifies (:func:`services.review.domain.chain.verify`);
* it is in its school's index on both sides (``SchoolCases``; their order is arrival order);
* its view (:func:`services.review.domain.case_view.fold` of the entries, overdue judged at the same
  moment) is equal once entry numbers and sources are set aside and entries at the same moment
  are taken in either order.

The live service may be ahead of the rebuild (it kept consuming meanwhile) or behind (it lags,
or is stopped). An upstream entry whose position (its ``source``, ``intake:<n>``) lies past the
other store's position for that stream, but within its own store's, is left out on both sides
and counted, as is a live own entry stored after the last one on the REVIEW stream (its relay
has not published it yet). An entry past its own store's position cannot be lag, so it is
compared. On a quiet system nothing is left out.

Speed
-----
The streams are read with push consumers of the rebuild's own (ephemeral, in memory), whose
flow control is answered once what came before has been handed on, so the server never runs
more than its window ahead; like ordered consumers they start again from the last message
handed on if a message is lost or the server restarts (:mod:`.streams`). From 20,000
messages on, the cases are dealt into shares by their id (a share per core, up to four): this
process reads every stream once and deals each message to its case's share, a process each
(forked from a server process that imported what they need once), and the events the shares
make are written by one more process, the store's one writer (:mod:`.run`). A share keeps its
cases in memory, in the library's own aggregate cache; a case keeps only the tail of its chain
once its events are made (:class:`ChainTail`), so memory grows with the number of cases, not of
events (:mod:`.store`). Events are written in transactions of thousands (a twentieth of the
rebuild, 5,000 to 10,000), each with the position its share has applied its streams to.
Figures: ``docs/performance.md``, section 4.

Interrupted
-----------
Each share's position in each stream is written with every batch, so ``--resume`` carries on
from there, dealing the cases into as many shares as the interrupted rebuild did. Without
``--resume`` the rebuild store is discarded and the rebuild starts afresh. Either way the live
store is only read.
"""

from __future__ import annotations

from ops.rebuild.compare import CaseDifference, Comparison, compare, entry_key
from ops.rebuild.run import RebuildOutcome, default_shares, rebuild
from ops.rebuild.store import (
    ChainTail,
    RebuildError,
    RebuiltReviews,
    discard_rebuild,
    live_env,
    rebuild_settings,
    rebuilt_store,
)
from ops.rebuild.streams import StreamHead, review_head, stream_heads

__all__ = [
    "CaseDifference",
    "ChainTail",
    "Comparison",
    "RebuildError",
    "RebuildOutcome",
    "RebuiltReviews",
    "StreamHead",
    "compare",
    "default_shares",
    "discard_rebuild",
    "entry_key",
    "live_env",
    "rebuild",
    "rebuild_settings",
    "rebuilt_store",
    "review_head",
    "stream_heads",
]
