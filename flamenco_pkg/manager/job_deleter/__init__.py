"""Job deletion: requests mark a job (`deletion.py`), the loop removes its
Shaman checkout, files and rows, then announces it (`loop.py`)."""
