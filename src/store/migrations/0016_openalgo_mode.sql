-- OpenAlgo's analyzer mode, per API key: which broker an OpenAlgo call made with the key trades.
-- Analyze (the default, as OpenAlgo's sandbox) is our paper broker; live is zerodha.
alter table api_keys add column openalgo_live boolean not null default false;
