"""Archival: closed histories kept outside persistence, in the layout of Temporal's
local file-system archiver (`common/archiver/filestore`)."""
