
reg-1bN
kam-0012"haarlem*beschermd_wonen28@RhaarlemR	heemstedeZ
BU03921003`