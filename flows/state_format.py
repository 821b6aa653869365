"""The recovery format of the dataflow's state: a number bumped whenever what Bytewax snapshots changes shape.

Beside the adapter that snapshots it (flows/keyed.py) and imported by the process that checks it
(atp/pipeline.py), without pulling Bytewax into that import.
"""

from __future__ import annotations

# What it versions: the domain's state classes (atp.domain, pickled by position) inside flows.keyed's Snapshot,
# and the step ids of flows.availability. Bump it when a stateful step's state class changes shape: resuming
# a snapshot of another shape would crash, or worse, half-work.
# 1: issue 2 (stock and items only); 2: reservations, lots, inbound, safety stock, kits, sales;
# 3: stock history per location (shipments' decrements) and the channel steps;
# 4: the input ledger (a step that must have seen every input from the first offset on); snapshots are the
# state pickled to bytes; `channel_locations` keeps the names of a location's SKUs, not their figures; the
# input offsets are kept per partition number (connectors.kafka_source), not per topic partition;
# 5: a key's snapshot is (next deadline, gauge share, pickled state), and the stateful steps are Bytewax's
# `stateful_batch` under their own step ids (no `.stateful_batch` suffix);
# 6: source transactions (the `transactions` step and its TransactionLog), per-epoch versions (the open version
# and what it opened from, in LocationState, KitState and ChannelFeed), and the publisher's partitions.
# 7: the topology's named stages: stateful step ids are scoped by stage (`commit_order.transactions`,
# `sku_availability.availability`, `decode_inputs.input_ledger`, ...), and SkuState is split by concern with its
# published figures as named tuples.
# 8: a FULFILL's grace counts from its receipt (Reservation.grace_from_ms); Reservation.seen_event_ids keeps each
# event id's contents (conflicting duplicates); UpcState.waiting_since_ms (unknown UPCs are dead-lettered).
# Also in 8: the input ledger remembers the offsets it counted as dead-lettered, and is `account_inputs.input_ledger`.
# 9: the promotions gate (`promotions.promotable`, PromotionGate per listing): a new step that must have seen every
# channel record from the first on, so a store of format 8 (where it would start empty) is not resumed.
# 10: back-in-stock notices (`back_in_stock.wish_customers`, CustomerWishes per customer digest, and
# `back_in_stock.back_in_stock`, WishList per listing): new steps that must have seen every wish event and channel
# record from the first on (a wish-listed SKU that came back before would be told again, or never).
# 11: the published figures in a state are plain tuples, not named tuples (LocationState.published and epoch_base,
# KitState's, ChannelSums' stamps, ChannelFeed's): a named tuple pickles at several times a tuple's cost; a SKU's
# locations pickle as one pickle of field values each, kept until the location changes (location_state.Locations),
# and ChannelFeed.latest keeps plain tuples (available, status, promise date, buffer), not the ChannelFigures sent.
# 12: a listing is one key of one step (`listings.listing`: Listing, its ChannelFeed, PromotionGate and WishList);
# `channel_feeds.channel_feed`, `promotions.promotable` and `back_in_stock.back_in_stock` are gone.
# A changed format is not migrated: `atp run` refuses the old recovery store, and the runbook's replay rebuilds the
# state from the input topics (README, "Replay").
STATE_FORMAT = 12
