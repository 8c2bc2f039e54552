# Thin wrappers over npm scripts, so `make <target>` and `npm run` agree.
.PHONY: setup start dev test typecheck lint bench e2e crash-test clean

setup:
	npm install

start:
	npm start

dev:
	npm run dev

test:
	npm test

typecheck:
	npm run typecheck

lint:
	npm run lint

bench:
	npm run bench

e2e:
	npm run e2e

crash-test:
	npm run crash-test

# Removes local data of the default instance (./data) and test output; keeps data/.gitkeep.
clean:
	find data -mindepth 1 -not -name .gitkeep -delete
	rm -rf test-output
