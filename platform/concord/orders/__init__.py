"""Purchase orders shared by a buyer and its supplier: lines, revisions, acknowledgements
and change proposals."""
