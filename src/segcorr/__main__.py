from segcorr.cli import main

main()
