"""Scale-out engines: the catalog build and the store audit on Ray (optional extra ``ray``)."""
