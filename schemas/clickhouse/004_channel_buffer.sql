-- Channel contract v2 adds `buffer` (units the channel's buffer keeps back); stores created before get it here.
ALTER TABLE atp.channel_availability ADD COLUMN IF NOT EXISTS buffer Int64 DEFAULT 0;
