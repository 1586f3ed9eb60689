-- A statement that wrote on the strength of an earlier read calls this with whether every row it
-- meant to write was still as read: when not, the whole statement is undone with a serialization
-- failure (40001), which the writer answers by reading again.
create or replace function unchanged_since_read(ok boolean, what text) returns boolean
language plpgsql as $$
begin
  if not ok then
    raise exception using errcode = '40001', message = what;
  end if;
  return true;
end
$$;
