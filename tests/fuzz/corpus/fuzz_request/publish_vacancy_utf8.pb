
pub-2Rg
YM-2025-0871ymerezkij"velsen*
BU045301022	complex-1:Ä²muidenstraat 3 â€” bov@H0PÂÞXbé